"""The PostgreSQL outbox: several notifier replicas share one database, active-active.

Any replica accepts webhooks; unique keys de-duplicate them inside one transaction that commits
before the 2xx. Delivery is claimed per lane (the channel a group was first routed to) with a lease
row: `FOR UPDATE SKIP LOCKED` hands free or expired lanes to one replica, `expires_at` bounds how
long a dead owner blocks its lanes, and `epoch` counts owners. Every delivery write is fenced: it
runs in a transaction that share-locks this replica's lease row and checks owner, epoch and expiry,
so a replica that lost its lane raises LeaseLost instead of writing (and so before it can post).

Schema changes are versioned SQL files in notifier/migrations/, applied by yoyo-migrations under
its own lock, so replicas starting together migrate once.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from importlib.resources import files

import psycopg
from typing import Any
from psycopg_pool import ConnectionPool, PoolTimeout

from notifier.payload import Notification
from notifier.recovery_store import PostgresRecoveryTables, first_int
from notifier.redaction import redact_url
from notifier.store import (
    DELIVERY_COLUMNS,
    FINISHED_STATES,
    GROUP_COLUMNS,
    TIMELINE_ACTIONS,
    Action,
    DeliveryEntry,
    Group,
    LeaseLost,
    Pending,
    Steps,
    StoreError,
    delivery_record,
    refresh_payload,
)

POOL_SIZE = 10
IDLE_LANE_S = 10.0  # an owner keeps a lane this long after its last pending work


def migrate(url: str) -> None:
    """Apply the numbered migrations in notifier/migrations/ that this database has not seen."""
    from yoyo import get_backend, read_migrations

    backend = get_backend("postgresql+psycopg://" + url.split("://", 1)[1])
    try:
        migrations = read_migrations(str(files("notifier") / "migrations"))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations))
    finally:
        backend.connection.close()


class PostgresStore(PostgresRecoveryTables):
    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        shown = redact_url(url)
        try:
            migrate(url)
            self._pool = ConnectionPool(url, min_size=2, max_size=pool_size, timeout=10, open=False,
                                        kwargs={"connect_timeout": 10})
            self._pool.open(wait=True, timeout=15)
            with self._pool.connection() as conn:
                conn.execute("INSERT INTO meta VALUES ('instance', %s) ON CONFLICT DO NOTHING",
                             (uuid.uuid4().hex[:12],))
                row = conn.execute("SELECT value FROM meta WHERE key='instance'").fetchone()
                assert row is not None, "inserted just above"
                self.instance: str = row[0]
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise StoreError(f"cannot open the store {shown}: {_reason(exc, url)}") from None
        except Exception as exc:  # noqa: BLE001 - yoyo wraps driver errors in its own types
            raise StoreError(f"cannot open the store {shown}: {type(exc).__name__}: {_reason(exc, url)}") from None
        self.owner = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._held: dict[str, int] = {}
        self._held_lock = threading.Lock()

    def close(self) -> None:
        self._pool.close()

    def writable(self) -> bool:
        try:
            with self._pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1 FROM meta FOR UPDATE")
            return True
        except (psycopg.Error, PoolTimeout):
            return False

    # --- intake -------------------------------------------------------------------------------

    def accept(self, notification: Notification, channel: str, received_at: float | None = None) -> int | None:
        return self.accept_many([(notification, channel, time.time() if received_at is None else received_at)])[0]

    def accept_many(self, batch: list[tuple[Notification, str, float]]) -> list[int | None]:
        found: list[int | None] = []
        with self._pool.connection() as conn, conn.transaction():
            for notification, channel, received_at in batch:
                conn.execute("INSERT INTO groups (group_key, group_id, lane, channel) VALUES (%s, %s, %s, %s)"
                             " ON CONFLICT DO NOTHING",
                             (notification.group_key, uuid.uuid4().hex[:16], channel, channel))
                row = conn.execute(
                    "INSERT INTO notifications (state_key, group_key, lane, kind, status, payload, received_at)"
                    " SELECT %s, %s, lane, 'alert', %s, %s, %s FROM groups WHERE group_key=%s"
                    " ON CONFLICT (state_key) DO NOTHING RETURNING id",
                    (notification.state_key(), notification.group_key, notification.status,
                     notification.to_json(), received_at, notification.group_key)).fetchone()
                found.append(row[0] if row else None)
        return found

    def enqueue_refresh(self, group_key: str, note: str, action: str = "note", user_id: str | None = None) -> int:
        with self._pool.connection() as conn:
            return first_int(conn.execute(
                "INSERT INTO notifications (state_key, group_key, lane, kind, status, payload, received_at)"
                " SELECT %s, group_key, lane, 'refresh', %s, %s, %s FROM groups WHERE group_key=%s RETURNING id",
                (f"refresh:{uuid.uuid4().hex}", action, refresh_payload(note, action, user_id), time.time(),
                 group_key)).fetchone())

    # --- leases ---------------------------------------------------------------------------------

    def claim_lanes(self, ttl_s: float, limit: int = 16) -> dict[str, int]:
        ttl, idle = f"{ttl_s} seconds", f"{IDLE_LANE_S} seconds"
        with self._pool.connection() as conn, conn.transaction():
            busy = "SELECT DISTINCT lane FROM notifications WHERE state='pending'"
            conn.execute(f"INSERT INTO leases (lane) {busy} ON CONFLICT DO NOTHING")
            conn.execute(f"UPDATE leases SET busy_at=now() WHERE owner=%s AND lane IN ({busy})", (self.owner,))
            # Lanes idle for a while go back (no pending work means nothing in flight either); kept
            # meanwhile, so the next state of a busy channel needs no new claim.
            conn.execute(f"UPDATE leases SET owner=NULL, expires_at=NULL WHERE owner=%s AND lane NOT IN ({busy})"
                         " AND (busy_at IS NULL OR busy_at < now() - %s::interval)", (self.owner, idle))
            held: dict[str, int] = dict(conn.execute("UPDATE leases SET expires_at=now() + %s::interval"
                                     " WHERE owner=%s AND expires_at > now() RETURNING lane, epoch",
                                     (ttl, self.owner)).fetchall())
            taken = conn.execute(
                "WITH free AS (SELECT lane FROM leases WHERE (owner IS NULL OR expires_at <= now())"
                f" AND lane IN ({busy}) ORDER BY lane LIMIT %s FOR UPDATE SKIP LOCKED)"
                " UPDATE leases l SET owner=%s, epoch=l.epoch + 1, expires_at=now() + %s::interval, busy_at=now()"
                " FROM free WHERE l.lane = free.lane RETURNING l.lane, l.epoch",
                (limit, self.owner, ttl)).fetchall()
            held.update(taken)
        with self._held_lock:
            self._held = held
        return dict(held)

    def release_lanes(self) -> None:
        with self._pool.connection() as conn:
            conn.execute("UPDATE leases SET owner=NULL, expires_at=NULL WHERE owner=%s", (self.owner,))
        with self._held_lock:
            self._held = {}

    def _fence(self, conn: psycopg.Connection, group_key: str) -> None:
        """Inside a write transaction: hold our lease row (share lock) or raise LeaseLost."""
        row = conn.execute(
            "SELECT l.lane, l.epoch FROM groups g JOIN leases l ON l.lane = g.lane WHERE g.group_key=%s"
            " AND l.owner=%s AND l.expires_at > now() FOR SHARE OF l", (group_key, self.owner)).fetchone()
        with self._held_lock:
            ours = row is not None and self._held.get(row[0]) == row[1]
        if not ours:
            raise LeaseLost(f"the delivery lease for {group_key} is no longer held by this replica")

    # --- delivery -------------------------------------------------------------------------------

    def pending_groups(self) -> list[str]:
        with self._held_lock:
            lanes = list(self._held)
        if not lanes:
            return []
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT group_key FROM notifications WHERE state='pending' AND lane = ANY(%s)"
                                " GROUP BY group_key ORDER BY MIN(id)", (lanes,)).fetchall()
        return [row[0] for row in rows]

    def next_pending(self, group_key: str) -> Pending | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT id, group_key, kind, status, payload, received_at, steps, lane FROM notifications"
                " WHERE state='pending' AND group_key=%s ORDER BY id LIMIT 1", (group_key,)).fetchone()
        if row is None:
            return None
        with self._held_lock:
            if row[7] not in self._held:
                return None  # another replica's lane
        return Pending(row[0], row[1], row[2], row[3], row[4], row[5], steps=json.loads(row[6]), lane=row[7])

    def save_steps(self, notification_id: int, steps: Steps) -> None:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT group_key FROM notifications WHERE id=%s", (notification_id,)).fetchone()
            assert row is not None, "a pending row is never deleted"
            self._fence(conn, row[0])
            conn.execute("UPDATE notifications SET steps=%s WHERE id=%s", (json.dumps(steps), notification_id))

    def finish(self, item: Pending, *, state: str, channel: str | None, ts: str | None,
               thread_ts: str | None, error: str | None = None) -> None:
        with self._pool.connection() as conn, conn.transaction():
            self._fence(conn, item.group_key)
            conn.execute("UPDATE notifications SET state=%s, channel=%s, ts=%s, thread_ts=%s, delivered_at=%s,"
                         " error=%s WHERE id=%s", (state, channel, ts, thread_ts, time.time(), error, item.id))
            if item.kind == "alert":
                conn.execute("UPDATE groups SET last_payload=%s WHERE group_key=%s", (item.payload, item.group_key))
            if item.kind == "alert" and item.status == "resolved":
                conn.execute("UPDATE groups SET acked_by=NULL, acked_at=NULL WHERE group_key=%s", (item.group_key,))

    def group(self, group_key: str) -> Group:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT {GROUP_COLUMNS} FROM groups WHERE group_key=%s", (group_key,)).fetchone()
        if row is None:
            raise KeyError(group_key)
        return Group(*row)

    def group_by_id(self, group_id: str) -> Group | None:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT {GROUP_COLUMNS} FROM groups WHERE group_id=%s", (group_id,)).fetchone()
        return Group(*row) if row else None

    def set_channel(self, group_key: str, channel: str, channel_id: str | None) -> None:
        with self._pool.connection() as conn, conn.transaction():
            self._fence(conn, group_key)
            conn.execute("UPDATE groups SET channel=%s, channel_id=%s WHERE group_key=%s",
                         (channel, channel_id, group_key))

    def set_root(self, group_key: str, channel: str, channel_id: str, root_ts: str) -> None:
        with self._pool.connection() as conn, conn.transaction():
            self._fence(conn, group_key)
            conn.execute("UPDATE groups SET channel=%s, channel_id=%s, root_ts=%s WHERE group_key=%s",
                         (channel, channel_id, root_ts, group_key))

    # --- buttons --------------------------------------------------------------------------------

    def ack(self, group_key: str, user: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("UPDATE groups SET acked_by=%s, acked_at=%s WHERE group_key=%s",
                         (user, time.time(), group_key))

    def silence(self, group_key: str, user: str, until: float, silence_id: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("UPDATE groups SET silenced_by=%s, silenced_until=%s, silence_id=%s WHERE group_key=%s",
                         (user, until, silence_id, group_key))

    def record_action(self, group_key: str, kind: str, idem_key: str, user_id: str, detail: dict[str, Any]) -> bool:
        now = time.time()
        with self._pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO actions (kind, idem_key, group_key, user_id, detail, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (kind, idem_key, group_key, user_id, json.dumps(detail), now, now)).fetchone()
        return row is not None

    def set_action_outcome(self, kind: str, idem_key: str, outcome: str, detail: dict[str, Any] | None = None) -> None:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT detail FROM actions WHERE kind=%s AND idem_key=%s FOR UPDATE",
                               (kind, idem_key)).fetchone()
            if row is None:
                raise KeyError((kind, idem_key))
            conn.execute("UPDATE actions SET outcome=%s, detail=%s, updated_at=%s WHERE kind=%s AND idem_key=%s",
                         (outcome, json.dumps({**json.loads(row[0]), **(detail or {})}), time.time(), kind,
                          idem_key))

    def action(self, kind: str, idem_key: str) -> Action | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT group_key, kind, idem_key, user_id, detail, outcome, created_at"
                               " FROM actions WHERE kind=%s AND idem_key=%s", (kind, idem_key)).fetchone()
        if row is None:
            return None
        return Action(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])

    # --- reporting ------------------------------------------------------------------------------

    def queue_depth(self) -> int:
        with self._pool.connection() as conn:
            return first_int(conn.execute("SELECT COUNT(*) FROM notifications WHERE state='pending'").fetchone())

    def deliveries(self, include_undelivered: bool = False, after: int = 0, limit: int = 5000) -> list[DeliveryEntry]:
        states = [*FINISHED_STATES, "pending"] if include_undelivered else ["delivered"]
        with self._pool.connection() as conn:
            rows = conn.execute(f"SELECT {DELIVERY_COLUMNS} FROM notifications WHERE id > %s"
                                " AND (kind='alert' OR status = ANY(%s)) AND state = ANY(%s) ORDER BY id LIMIT %s",
                                (after, list(TIMELINE_ACTIONS), states, limit)).fetchall()
        return [delivery_record(*row) for row in rows]

    def prune(self, older_than: float) -> int:
        with self._pool.connection() as conn, conn.transaction():
            gone = conn.execute("DELETE FROM notifications WHERE state = ANY(%s) AND delivered_at < %s",
                                (list(FINISHED_STATES), older_than)).rowcount
            gone += conn.execute("DELETE FROM actions WHERE outcome IS NOT NULL AND updated_at < %s",
                                 (older_than,)).rowcount
        return gone

def _reason(exc: BaseException, url: str) -> str:
    """The driver's message without the password (psycopg can echo the connection string)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2] if "@" in url else ""
    return text.replace(password, "***") if password else text
