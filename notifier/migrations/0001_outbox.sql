-- The notifier's outbox on PostgreSQL (applied by yoyo-migrations; see docs/notifier.md).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE groups (
    group_key TEXT PRIMARY KEY,
    group_id TEXT UNIQUE NOT NULL,
    lane TEXT NOT NULL,
    channel TEXT,
    channel_id TEXT,
    root_ts TEXT,
    last_payload TEXT,
    acked_by TEXT,
    acked_at DOUBLE PRECISION,
    silenced_by TEXT,
    silenced_until DOUBLE PRECISION,
    silence_id TEXT
);

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    state_key TEXT UNIQUE NOT NULL,
    group_key TEXT NOT NULL REFERENCES groups(group_key),
    lane TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    steps TEXT NOT NULL DEFAULT '{}',
    channel TEXT,
    ts TEXT,
    thread_ts TEXT,
    delivered_at DOUBLE PRECISION,
    error TEXT
);
CREATE INDEX notifications_pending ON notifications (lane, group_key, id) WHERE state = 'pending';

-- One delivery lease per lane (the channel a group was routed to): one owner at a time keeps
-- per-group order and per-channel pacing; `epoch` grows with every change of owner.
CREATE TABLE leases (
    lane TEXT PRIMARY KEY,
    owner TEXT,
    epoch BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ
);

CREATE TABLE actions (
    kind TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    group_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (kind, idem_key)
);
