"""What the notifier delivered, matched to one alert by fingerprint or labels, never by message text."""

from __future__ import annotations

from datetime import datetime

from bongsu.observe import deliveries

__all__ = ["deliveries", "delivered_at", "carries", "first_delivery"]


def delivered_at(delivery: dict) -> float:
    return datetime.fromisoformat(delivery["delivered_at"].replace("Z", "+00:00")).timestamp()


def carries(delivery: dict, labels: dict[str, str], fingerprint: str | None, status: str) -> bool:
    """True when the delivery holds the alert (by fingerprint if known, else all `labels`) in `status`."""
    for alert in delivery.get("alerts", []):
        if alert.get("status") != status:
            continue
        if fingerprint and alert.get("fingerprint") == fingerprint:
            return True
        alert_labels = alert.get("labels", {})
        if not fingerprint and all(alert_labels.get(k) == v for k, v in labels.items()):
            return True
    return False


def first_delivery(found: list[dict], labels: dict[str, str], status: str, since: float,
                   fingerprint: str | None = None) -> dict | None:
    """The earliest delivery at or after `since` (epoch seconds) carrying the alert in `status`."""
    matching = [d for d in found if d.get("delivered_at") and delivered_at(d) >= since
                and carries(d, labels, fingerprint, status)]
    return min(matching, key=delivered_at) if matching else None
