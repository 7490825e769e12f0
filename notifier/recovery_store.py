"""The store's recovery tables: error reports (bounded retention), the evidence a page shows, and
rollback records (claimed once per click key, so a rollback runs exactly once however often the
button is pressed and on however many replicas share the store).

`RecoveryTables` is a mixin of the SQLite backend (notifier/store_sqlite.py, its connection and
lock); `PostgresRecoveryTables` of the PostgreSQL one (notifier/store_postgres.py, its pool; schema in
notifier/migrations/0002_recovery.sql). Both pass tests/recovery/test_recovery_store.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from notifier.otlp_logs import ErrorReport

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

RETENTION_S = 7 * 24 * 3600
MAX_REPORTS = 20_000

RECOVERY_SCHEMA = """
CREATE TABLE IF NOT EXISTS error_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    received_at REAL NOT NULL,
    count INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS error_reports_window ON error_reports(service, received_at);
CREATE TABLE IF NOT EXISTS group_evidence (
    group_key TEXT PRIMARY KEY,
    gathered_at REAL NOT NULL,
    evidence TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollbacks (
    idem_key TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    service TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    requested_at REAL NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'running',
    detail TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS rollbacks_group ON rollbacks(group_key, requested_at);
"""


@dataclass
class TopReport:
    report: ErrorReport  # the latest full report of the fingerprint
    count: int
    first_seen: float
    last_seen: float


class Fingerprint(TypedDict):
    """One error fingerprint in a group's evidence: where it failed, how often, in which build."""

    type: str
    message: str
    file: str
    line: int | None
    function: str
    source: str
    count: int
    version: str
    revision: str
    trace_id: str
    route: str
    status: int | None


class FullReport(Fingerprint):
    """The top fingerprint with its latest report's request, frames and breadcrumbs (JSON from the SDK)."""

    method: str
    url: str
    package: str
    breadcrumbs: list[Any]
    request: dict[str, Any]
    frames: list[Any]
    span_id: str


class FailingRoute(TypedDict):
    method: str
    route: str
    status: str
    count: int


class PreviousBuild(TypedDict):
    version: str
    revision: str


class Deploy(TypedDict):
    version: str
    revision: str
    package: str
    deployed_at: float | None  # set when the build changed within the lookback before the alert
    previous: PreviousBuild | None


RollbackOffer = TypedDict("RollbackOffer", {"from": str, "to": str})


class Evidence(TypedDict):
    """What a page can say about the group's service (notifier/evidence.py), stored as JSON with the group."""

    service: str
    since: float
    until: float
    started_at: float
    fingerprints: list[Fingerprint]
    reports: list[FullReport]
    routes: list[FailingRoute]
    trace_id: str | None
    deploy: Deploy | None
    rollback: RollbackOffer | None
    problems: list[str]


def first_int(row: tuple[Any, ...] | None) -> int:
    """The integer a statement always answers with (a COUNT, the id of the row it inserted)."""
    assert row is not None, "the statement answers one row"
    value: int = row[0]
    return value


@dataclass
class RollbackRecord:
    idem_key: str
    group_key: str
    service: str
    user_id: str
    user_name: str
    from_version: str
    to_version: str
    requested_at: float
    outcome: str  # running, succeeded, failed
    detail: str | None
    finished_at: float | None


class RecoveryTables:
    _db: sqlite3.Connection
    _lock: threading.Lock

    def add_reports(self, reports: list[ErrorReport], now: float | None = None) -> int:
        """Keep the reports; drop those past retention and the oldest beyond MAX_REPORTS."""
        now = time.time() if now is None else now
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO error_reports (service, fingerprint, received_at, count, report) VALUES (?,?,?,?,?)",
                    [(r.service, r.fingerprint, now, r.count, r.to_json()) for r in reports])
                self._db.execute("DELETE FROM error_reports WHERE received_at < ?", (now - RETENTION_S,))
                self._db.execute("DELETE FROM error_reports WHERE id <= (SELECT MAX(id) FROM error_reports) - ?",
                                 (MAX_REPORTS,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(reports)

    def report_count(self) -> int:
        with self._lock:
            return first_int(self._db.execute("SELECT COUNT(*) FROM error_reports").fetchone())

    def top_reports(self, service: str, since: float, until: float, limit: int = 3) -> list[TopReport]:
        """The fingerprints seen most often for `service` in the window, with their latest report."""
        with self._lock:
            rows = self._db.execute(
                "SELECT fingerprint, SUM(count), MIN(received_at), MAX(received_at), MAX(id) FROM error_reports"
                " WHERE service=? AND received_at BETWEEN ? AND ? GROUP BY fingerprint"
                " ORDER BY SUM(count) DESC, MAX(id) DESC LIMIT ?", (service, since, until, limit)).fetchall()
            found = []
            for _, count, first, last, latest in rows:
                report = self._db.execute("SELECT report FROM error_reports WHERE id=?", (latest,)).fetchone()[0]
                found.append(TopReport(ErrorReport.from_json(report), count, first, last))
        return found

    def set_evidence(self, group_key: str, evidence: Evidence) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO group_evidence VALUES (?, ?, ?)",
                             (group_key, time.time(), json.dumps(evidence)))

    def evidence(self, group_key: str) -> Evidence | None:
        with self._lock:
            row = self._db.execute("SELECT evidence FROM group_evidence WHERE group_key=?", (group_key,)).fetchone()
        return json.loads(row[0]) if row else None

    def claim_rollback(self, record: RollbackRecord) -> bool:
        """True only for the first claim of `record.idem_key` (across clicks and replicas)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO rollbacks (idem_key, group_key, service, user_id, user_name, from_version,"
                " to_version, requested_at) VALUES (?,?,?,?,?,?,?,?)",
                (record.idem_key, record.group_key, record.service, record.user_id, record.user_name,
                 record.from_version, record.to_version, record.requested_at))
        return cursor.rowcount == 1

    def finish_rollback(self, idem_key: str, ok: bool, detail: str) -> None:
        with self._lock:
            self._db.execute("UPDATE rollbacks SET outcome=?, detail=?, finished_at=? WHERE idem_key=?",
                             ("succeeded" if ok else "failed", detail[:2000], time.time(), idem_key))

    def rollbacks(self, group_key: str | None = None) -> list[RollbackRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ROLLBACK_COLUMNS} FROM rollbacks"
                + (" WHERE group_key=?" if group_key else "") + " ORDER BY requested_at",
                (group_key,) if group_key else ()).fetchall()
        return [RollbackRecord(*row) for row in rows]


_ROLLBACK_COLUMNS = ("idem_key, group_key, service, user_id, user_name, from_version, to_version, requested_at,"
                     " outcome, detail, finished_at")


class PostgresRecoveryTables:
    """The same tables and contract on PostgreSQL; replicas share them, so one claim wins across all."""

    _pool: ConnectionPool

    def add_reports(self, reports: list[ErrorReport], now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._pool.connection() as conn, conn.transaction():
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO error_reports (service, fingerprint, received_at, count, report)"
                    " VALUES (%s, %s, %s, %s, %s)", [(r.service, r.fingerprint, now, r.count, r.to_json()) for r in reports])
            conn.execute("DELETE FROM error_reports WHERE received_at < %s", (now - RETENTION_S,))
            conn.execute("DELETE FROM error_reports WHERE id <= (SELECT MAX(id) FROM error_reports) - %s",
                         (MAX_REPORTS,))
        return len(reports)

    def report_count(self) -> int:
        with self._pool.connection() as conn:
            return first_int(conn.execute("SELECT COUNT(*) FROM error_reports").fetchone())

    def top_reports(self, service: str, since: float, until: float, limit: int = 3) -> list[TopReport]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT SUM(count), MIN(received_at), MAX(received_at),"
                " (SELECT report FROM error_reports latest WHERE latest.id = MAX(e.id))"
                " FROM error_reports e WHERE service=%s AND received_at BETWEEN %s AND %s GROUP BY fingerprint"
                " ORDER BY SUM(count) DESC, MAX(id) DESC LIMIT %s", (service, since, until, limit)).fetchall()
        return [TopReport(ErrorReport.from_json(report), int(count), first, last) for count, first, last, report in rows]

    def set_evidence(self, group_key: str, evidence: Evidence) -> None:
        with self._pool.connection() as conn:
            conn.execute("INSERT INTO group_evidence VALUES (%s, %s, %s) ON CONFLICT (group_key) DO UPDATE"
                         " SET gathered_at=EXCLUDED.gathered_at, evidence=EXCLUDED.evidence",
                         (group_key, time.time(), json.dumps(evidence)))

    def evidence(self, group_key: str) -> Evidence | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT evidence FROM group_evidence WHERE group_key=%s", (group_key,)).fetchone()
        return json.loads(row[0]) if row else None

    def claim_rollback(self, record: RollbackRecord) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO rollbacks (idem_key, group_key, service, user_id, user_name, from_version, to_version,"
                " requested_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (record.idem_key, record.group_key, record.service, record.user_id, record.user_name,
                 record.from_version, record.to_version, record.requested_at)).fetchone()
        return row is not None

    def finish_rollback(self, idem_key: str, ok: bool, detail: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("UPDATE rollbacks SET outcome=%s, detail=%s, finished_at=%s WHERE idem_key=%s",
                         ("succeeded" if ok else "failed", detail[:2000], time.time(), idem_key))

    def rollbacks(self, group_key: str | None = None) -> list[RollbackRecord]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_ROLLBACK_COLUMNS} FROM rollbacks" + (" WHERE group_key=%s" if group_key else "")
                + " ORDER BY requested_at", (group_key,) if group_key else ()).fetchall()
        return [RollbackRecord(*row) for row in rows]
