"""The durable outbox as one interface; SQLite (one replica, the demo) and PostgreSQL (replicas) behind it.

A webhook is acknowledged only once its group state is committed (`accept_many`). One row per
accepted group state (`notifications`), one row per alert group (`groups`, which remembers the
Slack message a group lives in), one row per button action (`actions`, whose unique key makes
clicks idempotent across replicas). Each Slack call a delivery makes is recorded as a step in its
row, so a restart (even after `kill -9`) resumes exactly where the last one stopped.

`open_store(target)` picks the backend: a `postgresql://` URL, else a SQLite file path.
Contract: docs/contracts.md ("Notifier store"); both backends pass tests/notifier/test_store_contract.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NotRequired, Protocol, TypedDict, runtime_checkable

from bongsu.errors import BongsuError

from notifier.otlp_logs import ErrorReport
from notifier.payload import Notification
from notifier.recovery_store import Evidence, RollbackRecord, TopReport


class StoreError(BongsuError, RuntimeError):
    """The state file cannot be opened or written."""


class LeaseLost(StoreError):
    """This replica no longer owns the lane: it must not write (or post) for it any more."""


@dataclass
class Group:
    group_key: str
    group_id: str
    channel: str  # set with the group's first state (a name, or an ID)
    channel_id: str | None
    root_ts: str | None
    last_payload: str | None
    acked_by: str | None
    acked_at: float | None
    silenced_by: str | None
    silenced_until: float | None
    silence_id: str | None

    @property
    def last(self) -> Notification | None:
        return Notification.model_validate_json(self.last_payload) if self.last_payload else None


class StepRecord(TypedDict, total=False):
    """One Slack call of a delivery, as kept (JSON) in its row: what makes a restart resume exactly."""

    sent: bool  # an attempt went out (its answer may have been lost)
    sent_at: float
    ts: str  # Slack's answer: the message posted
    channel_id: str
    done: bool  # chat.update: carried out (or given up)


Steps = dict[str, StepRecord]


class DeliveryAlert(TypedDict):
    fingerprint: str
    status: str
    labels: dict[str, str]


class DeliveryEntry(TypedDict):
    """One `GET /api/deliveries` entry (docs/contracts.md)."""

    id: int
    kind: str
    group_key: str
    status: str
    state: str
    channel: str | None
    ts: str | None
    thread_ts: str | None
    received_at: str | None
    delivered_at: str | None
    error: str | None
    alerts: list[DeliveryAlert]
    user_id: NotRequired[str | None]  # button actions only
    note: NotRequired[str | None]


@dataclass
class Pending:
    id: int
    group_key: str
    kind: str  # "alert": a group state from Alertmanager; "refresh": an ack or silence to show
    status: str
    payload: str
    received_at: float
    steps: Steps
    lane: str = ""


@dataclass
class Action:
    """A button action recorded once per idempotency key, whichever replica got the click."""

    group_key: str
    kind: str
    idem_key: str
    user_id: str
    detail: dict[str, Any]  # JSON, its fields depend on the action kind
    outcome: str | None  # None while the action is being carried out; then e.g. "done" or "failed"
    created_at: float


GROUP_COLUMNS = ("group_key, group_id, channel, channel_id, root_ts, last_payload, acked_by, acked_at,"
                 " silenced_by, silenced_until, silence_id")


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@runtime_checkable
class Store(Protocol):
    """What the webhook, the delivery loop, the buttons and the reports need from the outbox."""

    instance: str  # stable per store (not per process): part of every Slack step id
    owner: str  # this process, as a lease holder

    def close(self) -> None: ...

    def writable(self) -> bool:
        """True when a write transaction can be opened now (readiness)."""

    # intake
    def accept(self, notification: Notification, channel: str, received_at: float | None = None) -> int | None:
        """Record one group state durably; its row id, or None when that exact state was already recorded."""

    def accept_many(self, batch: list[tuple[Notification, str, float]]) -> list[int | None]:
        """Several group states in one transaction, committed before returning."""

    def enqueue_refresh(self, group_key: str, note: str, action: str = "note", user_id: str | None = None) -> int:
        """Queue a re-render of a group's message plus a thread note (after an ack or silence);
        `action` and `user_id` make it a timeline entry in `GET /api/deliveries`."""

    # delivery
    def claim_lanes(self, ttl_s: float, limit: int = 16) -> dict[str, int]:
        """Renew this process's delivery leases, release idle ones, take free or expired ones with
        work (at most `limit` new ones per call); returns every lane held, with its epoch."""

    def release_lanes(self) -> None:
        """Give every lease up (clean shutdown), so another replica takes over at once."""

    def pending_groups(self) -> list[str]:
        """Groups with undelivered states, in lanes this process holds (all of them for SQLite)."""

    def next_pending(self, group_key: str) -> Pending | None: ...

    def save_steps(self, notification_id: int, steps: Steps) -> None:
        """Fenced like every delivery write: LeaseLost when the lane is no longer ours."""

    def finish(self, item: Pending, *, state: str, channel: str | None, ts: str | None,
               thread_ts: str | None, error: str | None = None) -> None:
        """Close a delivery; an alert state becomes the group's current state in the same commit."""

    def group(self, group_key: str) -> Group:
        """The group (KeyError when unknown)."""

    def group_by_id(self, group_id: str) -> Group | None: ...

    def set_channel(self, group_key: str, channel: str, channel_id: str | None) -> None:
        """Where the group lives: a channel name and its ID once resolved (None: not yet known)."""

    def set_root(self, group_key: str, channel: str, channel_id: str, root_ts: str) -> None: ...

    # buttons
    def ack(self, group_key: str, user: str) -> None: ...

    def silence(self, group_key: str, user: str, until: float, silence_id: str) -> None: ...

    def record_action(self, group_key: str, kind: str, idem_key: str, user_id: str, detail: dict[str, Any]) -> bool:
        """Record an action under its unique `(kind, idem_key)`: True only for the first caller."""

    def set_action_outcome(self, kind: str, idem_key: str, outcome: str, detail: dict[str, Any] | None = None) -> None:
        """Store how a recorded action ended (`detail`, when given, is merged into the recorded one)."""

    def action(self, kind: str, idem_key: str) -> Action | None: ...

    # recovery (notifier/recovery_store.py): error reports, evidence, rollback records
    def add_reports(self, reports: list[ErrorReport], now: float | None = None) -> int:
        """Keep error reports, dropping those past retention and the oldest beyond the cap."""

    def report_count(self) -> int: ...

    def top_reports(self, service: str, since: float, until: float, limit: int = 3) -> list[TopReport]:
        """The most frequent fingerprints of `service` in the window, each with its latest report."""

    def set_evidence(self, group_key: str, evidence: Evidence) -> None: ...

    def evidence(self, group_key: str) -> Evidence | None: ...

    def claim_rollback(self, record: RollbackRecord) -> bool:
        """Record a rollback (after `record_action` claimed it); True when it was new."""

    def finish_rollback(self, idem_key: str, ok: bool, detail: str) -> None: ...

    def rollbacks(self, group_key: str | None = None) -> list[RollbackRecord]: ...

    # reporting
    def queue_depth(self) -> int: ...

    def deliveries(self, include_undelivered: bool = False, after: int = 0, limit: int = 5000) -> list[DeliveryEntry]:
        """Deliveries in order of acceptance, for `GET /api/deliveries` (docs/contracts.md): alert states
        and button actions (acks, silences), at most `limit` with an `id` above `after`."""

    def prune(self, older_than: float) -> int:
        """Delete delivered, failed and superseded rows finished before `older_than` (epoch seconds),
        and finished button actions as old; returns how many rows went. Groups stay (their threads)."""


def delivery_record(row_id: int, kind: str, group_key: str, status: str, state: str, channel: str | None,
                    ts: str | None, thread_ts: str | None, delivered_at: float | None, payload: str,
                    received_at: float, error: str | None) -> DeliveryEntry:
    """One `GET /api/deliveries` entry from a notifications row (both backends)."""
    data = json.loads(payload)
    entry: DeliveryEntry = {
        "id": row_id, "kind": "alert", "group_key": group_key, "status": status, "state": state,
        "channel": channel, "ts": ts, "thread_ts": thread_ts, "received_at": rfc3339(received_at),
        "delivered_at": rfc3339(delivered_at) if state == "delivered" else None, "error": error, "alerts": [],
    }
    if kind == "alert":
        entry["alerts"] = [{"fingerprint": a["fingerprint"], "status": a["status"], "labels": a["labels"]}
                           for a in data["alerts"]]
    else:  # a button action shown in the thread: part of the incident's timeline
        action = data.get("action", "note")
        entry.update({"kind": action, "status": {"ack": "acknowledged", "silence": "silenced"}.get(action, action),
                      "user_id": data.get("user_id"), "note": data.get("note")})
    return entry


DELIVERY_COLUMNS = ("id, kind, group_key, status, state, channel, ts, thread_ts, delivered_at, payload, received_at,"
                    " error")
TIMELINE_ACTIONS = ("ack", "silence")  # refresh rows listed by GET /api/deliveries
FINISHED_STATES = ("delivered", "failed", "superseded")


def refresh_payload(note: str, action: str, user_id: str | None) -> str:
    return json.dumps({"note": note, "action": action, "user_id": user_id})
