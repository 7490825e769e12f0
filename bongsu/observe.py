"""Read what the stack saw: alert states from Prometheus, routing from Alertmanager, deliveries from
the notifier. Plain numbers, strings and dicts out, so the demo, drills and tests compare them directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class WaitTimedOut(TimeoutError):
    """A condition did not hold in time; the message says which and what was last seen."""


def wait_for(condition: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0,
             last_seen: Callable[[], str] | None = None) -> T:
    """Poll `condition` until it returns something truthy; return that. Errors while polling retry.
    On time-out the message says what was awaited and, through `last_seen`, what was seen last."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            result = condition()
            if result:
                return result
        except httpx.HTTPError as exc:
            last_error = f" (last error: {exc})"
        if time.monotonic() >= deadline:
            seen = f"; last seen: {last_seen()}" if last_seen else ""
            raise WaitTimedOut(f"{what}: not seen within {timeout:.0f}s{seen}{last_error}")
        time.sleep(interval)


def query(prometheus_url: str, promql: str) -> list[tuple[dict[str, str], float]]:
    """An instant query, as (labels, value) pairs with the value as a float."""
    response = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": promql}, timeout=10)
    response.raise_for_status()
    return [(item["metric"], float(item["value"][1])) for item in response.json()["data"]["result"]]


def alert_state(prometheus_url: str, alertname: str, labels: dict[str, str] | None = None) -> str:
    """`firing`, `pending` or `inactive` for the alert's rules matching `labels` (the worst wins)."""
    response = httpx.get(f"{prometheus_url}/api/v1/alerts", timeout=10)
    response.raise_for_status()
    states = {alert["state"] for alert in response.json()["data"]["alerts"]
              if alert["labels"].get("alertname") == alertname
              and all(alert["labels"].get(k) == v for k, v in (labels or {}).items())}
    for state in ("firing", "pending"):
        if state in states:
            return state
    return "inactive"


def alertmanager_alerts(alertmanager_url: str, alertname: str) -> list[dict[str, Any]]:
    """Active alerts in Alertmanager named `alertname`, each with its `receivers`."""
    response = httpx.get(f"{alertmanager_url}/api/v2/alerts",
                         params={"filter": f'alertname="{alertname}"', "active": "true"}, timeout=10)
    response.raise_for_status()
    alerts: list[dict[str, Any]] = response.json()
    return alerts


def deliveries(notifier_url: str, token: str) -> list[dict[str, Any]]:
    """What the notifier delivered (to Slack or, offline, to the terminal), oldest first."""
    response = httpx.get(f"{notifier_url}/api/deliveries", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def delivery_for(notifier_url: str, token: str, alertname: str, status: str) -> dict[str, Any] | None:
    """The first delivery whose group carries `alertname` with the group `status` (firing/resolved)."""
    for delivery in deliveries(notifier_url, token):
        if delivery.get("status") == status and any(
                alert.get("labels", {}).get("alertname") == alertname for alert in delivery.get("alerts", [])):
            return delivery
    return None
