"""The SQLite outbox at `--state`: one process, fsynced before a webhook is acknowledged.

A lock file beside the state file (`<state>.lock`, held with flock for the process's life) refuses
a second process on the same file with a clear error instead of two delivery loops posting twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from notifier.payload import Notification
from notifier.recovery_store import RECOVERY_SCHEMA, RecoveryTables, first_int
from notifier.store import (
    DELIVERY_COLUMNS,
    FINISHED_STATES,
    GROUP_COLUMNS,
    TIMELINE_ACTIONS,
    Action,
    DeliveryEntry,
    Group,
    Pending,
    Steps,
    StoreError,
    delivery_record,
    refresh_payload,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (
    group_key TEXT PRIMARY KEY,
    group_id TEXT UNIQUE NOT NULL,
    channel TEXT,
    channel_id TEXT,
    root_ts TEXT,
    last_payload TEXT,
    acked_by TEXT,
    acked_at REAL,
    silenced_by TEXT,
    silenced_until REAL,
    silence_id TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state_key TEXT UNIQUE NOT NULL,
    group_key TEXT NOT NULL REFERENCES groups(group_key),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    steps TEXT NOT NULL DEFAULT '{}',
    channel TEXT,
    ts TEXT,
    thread_ts TEXT,
    delivered_at REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS notifications_pending ON notifications(state, group_key, id);
CREATE TABLE IF NOT EXISTS actions (
    kind TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    group_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, idem_key)
);
"""


class SQLiteStore(RecoveryTables):
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lockfile = _hold_lock(path)
        except OSError as exc:
            raise StoreError(f"cannot open the state file {path}: {exc.strerror or exc}"
                             f"{f' ({exc.filename})' if exc.filename else ''}") from None
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # fsync on every commit: 2xx means on disk
            self._db.executescript(_SCHEMA + RECOVERY_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('instance', ?)", (uuid.uuid4().hex[:12],))
            self.instance = self._db.execute("SELECT value FROM meta WHERE key='instance'").fetchone()[0]
            self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        except OSError as exc:
            raise StoreError(f"cannot open the state file {path}: {exc.strerror or exc}"
                             f"{f' ({exc.filename})' if exc.filename else ''}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state file {path}: {exc}") from None
        finally:
            if not hasattr(self, "instance"):
                os.close(self._lockfile)
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()
            os.close(self._lockfile)

    def writable(self) -> bool:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
            return True
        except sqlite3.Error:
            return False

    # --- intake -------------------------------------------------------------------------------

    def accept(self, notification: Notification, channel: str, received_at: float | None = None) -> int | None:
        """Record a group state durably; None when that exact state was already recorded.

        `channel` is where a new group will be posted; a known group keeps the channel it lives in.
        """
        return self.accept_many([(notification, channel, time.time() if received_at is None else received_at)])[0]

    def accept_many(self, batch: list[tuple[Notification, str, float]]) -> list[int | None]:
        """Several webhooks in one transaction (one fsync); a row id per new state, None per duplicate."""
        found: list[int | None] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for notification, channel, received_at in batch:
                    self._db.execute("INSERT OR IGNORE INTO groups (group_key, group_id, channel) VALUES (?, ?, ?)",
                                     (notification.group_key, uuid.uuid4().hex[:16], channel))
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO notifications"
                        " (state_key, group_key, kind, status, payload, received_at) VALUES (?, ?, 'alert', ?, ?, ?)",
                        (notification.state_key(), notification.group_key, notification.status,
                         notification.to_json(), received_at))
                    found.append(cursor.lastrowid if cursor.rowcount else None)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return found

    def enqueue_refresh(self, group_key: str, note: str, action: str = "note", user_id: str | None = None) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO notifications (state_key, group_key, kind, status, payload, received_at)"
                " VALUES (?, ?, 'refresh', ?, ?, ?)",
                (f"refresh:{uuid.uuid4().hex}", group_key, action, refresh_payload(note, action, user_id),
                 time.time()))
        row_id = cursor.lastrowid
        assert row_id is not None, "an INSERT sets lastrowid"
        return row_id

    # --- delivery -------------------------------------------------------------------------------

    def claim_lanes(self, ttl_s: float, limit: int = 16) -> dict[str, int]:
        """One process per file (the lock file): every lane is always ours."""
        return {}

    def release_lanes(self) -> None:
        pass

    def pending_groups(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT group_key FROM notifications WHERE state='pending' GROUP BY group_key ORDER BY MIN(id)")
            return [row[0] for row in rows]

    def next_pending(self, group_key: str) -> Pending | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, group_key, kind, status, payload, received_at, steps FROM notifications"
                " WHERE state='pending' AND group_key=? ORDER BY id LIMIT 1", (group_key,)).fetchone()
        if row is None:
            return None
        return Pending(row[0], row[1], row[2], row[3], row[4], row[5], steps=json.loads(row[6]))

    def save_steps(self, notification_id: int, steps: Steps) -> None:
        with self._lock:
            self._db.execute("UPDATE notifications SET steps=? WHERE id=?", (json.dumps(steps), notification_id))

    def finish(self, item: Pending, *, state: str, channel: str | None, ts: str | None,
               thread_ts: str | None, error: str | None = None) -> None:
        """Close a delivery; an alert state becomes the group's current state in the same commit."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "UPDATE notifications SET state=?, channel=?, ts=?, thread_ts=?, delivered_at=?, error=?"
                    " WHERE id=?", (state, channel, ts, thread_ts, time.time(), error, item.id))
                if item.kind == "alert":
                    self._db.execute("UPDATE groups SET last_payload=? WHERE group_key=?",
                                     (item.payload, item.group_key))
                if item.kind == "alert" and item.status == "resolved":
                    # The resolved message keeps showing who acknowledged; a refire is a new incident.
                    self._db.execute("UPDATE groups SET acked_by=NULL, acked_at=NULL WHERE group_key=?",
                                     (item.group_key,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def group(self, group_key: str) -> Group:
        with self._lock:
            row = self._db.execute(f"SELECT {GROUP_COLUMNS} FROM groups WHERE group_key=?", (group_key,)).fetchone()
        if row is None:
            raise KeyError(group_key)
        return Group(*row)

    def group_by_id(self, group_id: str) -> Group | None:
        with self._lock:
            row = self._db.execute(f"SELECT {GROUP_COLUMNS} FROM groups WHERE group_id=?", (group_id,)).fetchone()
        return Group(*row) if row else None

    def set_channel(self, group_key: str, channel: str, channel_id: str | None) -> None:
        with self._lock:
            self._db.execute("UPDATE groups SET channel=?, channel_id=? WHERE group_key=?",
                             (channel, channel_id, group_key))

    def set_root(self, group_key: str, channel: str, channel_id: str, root_ts: str) -> None:
        with self._lock:
            self._db.execute("UPDATE groups SET channel=?, channel_id=?, root_ts=? WHERE group_key=?",
                             (channel, channel_id, root_ts, group_key))

    def ack(self, group_key: str, user: str) -> None:
        with self._lock:
            self._db.execute("UPDATE groups SET acked_by=?, acked_at=? WHERE group_key=?",
                             (user, time.time(), group_key))

    def silence(self, group_key: str, user: str, until: float, silence_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE groups SET silenced_by=?, silenced_until=?, silence_id=? WHERE group_key=?",
                             (user, until, silence_id, group_key))

    def record_action(self, group_key: str, kind: str, idem_key: str, user_id: str, detail: dict[str, Any]) -> bool:
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO actions (kind, idem_key, group_key, user_id, detail, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (kind, idem_key, group_key, user_id, json.dumps(detail), now, now))
        return cursor.rowcount == 1

    def set_action_outcome(self, kind: str, idem_key: str, outcome: str, detail: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT detail FROM actions WHERE kind=? AND idem_key=?",
                                       (kind, idem_key)).fetchone()
                if row is None:
                    raise KeyError((kind, idem_key))
                merged = {**json.loads(row[0]), **(detail or {})}
                self._db.execute("UPDATE actions SET outcome=?, detail=?, updated_at=? WHERE kind=? AND idem_key=?",
                                 (outcome, json.dumps(merged), time.time(), kind, idem_key))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def action(self, kind: str, idem_key: str) -> Action | None:
        with self._lock:
            row = self._db.execute("SELECT group_key, kind, idem_key, user_id, detail, outcome, created_at"
                                   " FROM actions WHERE kind=? AND idem_key=?", (kind, idem_key)).fetchone()
        if row is None:
            return None
        return Action(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])

    # --- reporting ------------------------------------------------------------------------------

    def queue_depth(self) -> int:
        with self._lock:
            return first_int(self._db.execute("SELECT COUNT(*) FROM notifications WHERE state='pending'").fetchone())

    def deliveries(self, include_undelivered: bool = False, after: int = 0, limit: int = 5000) -> list[DeliveryEntry]:
        # A connection of its own: a long report never holds the lock intake writes under (WAL readers
        # do not block the writer).
        states = (*FINISHED_STATES, "pending") if include_undelivered else ("delivered",)
        with self._read_lock:
            rows = self._reader.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM notifications WHERE id > ?"
                f" AND (kind='alert' OR status IN ({','.join('?' * len(TIMELINE_ACTIONS))}))"
                f" AND state IN ({','.join('?' * len(states))}) ORDER BY id LIMIT ?",
                (after, *TIMELINE_ACTIONS, *states, limit)).fetchall()
        return [delivery_record(*row) for row in rows]

    def prune(self, older_than: float) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                gone = self._db.execute(
                    f"DELETE FROM notifications WHERE state IN ({','.join('?' * len(FINISHED_STATES))})"
                    " AND delivered_at < ?", (*FINISHED_STATES, older_than)).rowcount
                gone += self._db.execute("DELETE FROM actions WHERE outcome IS NOT NULL AND updated_at < ?",
                                         (older_than,)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return gone

def _hold_lock(path: Path) -> int:
    """Hold `<state>.lock` for this process's life; a second process gets a clear StoreError."""
    lock_path = path.with_name(path.name + ".lock")
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(handle, 64).decode(errors="replace").strip() or "?"
        os.close(handle)
        raise StoreError(f"the state file {path} is in use by another notifier process (pid {holder}); "
                         "SQLite serves one replica: stop the other one, or use --store postgresql://... "
                         "for several replicas") from None
    os.ftruncate(handle, 0)
    os.pwrite(handle, str(os.getpid()).encode(), 0)
    return handle
