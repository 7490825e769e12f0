-- Recovery tables (docs/recovery.md): error reports with bounded retention, a group's evidence,
-- and rollback records (claimed through `actions`, one row per rollback).
CREATE TABLE error_reports (
    id BIGSERIAL PRIMARY KEY,
    service TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    count INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX error_reports_window ON error_reports (service, received_at);

CREATE TABLE group_evidence (
    group_key TEXT PRIMARY KEY,
    gathered_at DOUBLE PRECISION NOT NULL,
    evidence TEXT NOT NULL
);

CREATE TABLE rollbacks (
    idem_key TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    service TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    requested_at DOUBLE PRECISION NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'running',
    detail TEXT,
    finished_at DOUBLE PRECISION
);
CREATE INDEX rollbacks_group ON rollbacks (group_key, requested_at);
