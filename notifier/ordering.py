"""A per-alert high-water mark, so a stale group state never overwrites a newer one.

Alertmanager HA pairs and retries deliver states out of order: a firing retry can arrive after the
resolve. Each alert's position is (startsAt, status, endsAt): a refire has a later startsAt, a
resolve beats a firing of the same episode, and a later endsAt beats an earlier one.
"""

from __future__ import annotations

from datetime import datetime, timezone

from notifier.payload import Alert, Notification

_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


def mark(alert: Alert) -> tuple[datetime, int, datetime]:
    ends = alert.ends_at if alert.ends_at and alert.ends_at.tzinfo else _EPOCH
    return alert.starts_at, 1 if alert.status == "resolved" else 0, ends


def reconcile(incoming: Notification, shown: Notification | None) -> Notification | None:
    """The state to show: `incoming` with any alert the group already shows newer kept as shown;
    None when nothing in `incoming` is newer than what is shown (a stale state)."""
    if shown is None:
        return incoming
    known = {alert.fingerprint: alert for alert in shown.alerts}
    merged, newer = [], False
    for alert in incoming.alerts:
        before = known.get(alert.fingerprint)
        if before is not None and mark(before) >= mark(alert):
            merged.append(before)
        else:
            merged.append(alert)
            newer = True
    if not newer:
        return None
    status = "firing" if any(a.status == "firing" for a in merged) else "resolved"
    return incoming.model_copy(update={"alerts": merged, "status": status})
