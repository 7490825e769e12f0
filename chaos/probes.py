"""Chaos Toolkit probes: what Prometheus, Alertmanager and the notifier say, as plain values.

Values are floats, booleans and small dicts without a `status` key (Chaos Toolkit would compare a
dict's `status` instead of the whole). Every probe that waits takes `timeout_s` (0: look once) and
`interval_s`; waiting probes that return a dict raise `ActivityFailed` when time runs out, the
boolean ones return False so a tolerance of `true` catches it.
"""


import operator
import time

from chaoslib.exceptions import ActivityFailed

from bongsu.catalog import Duration, error_ratio_record, load_catalog
from chaos import alertmanager, marks, prometheus
from chaos.deliveries import deliveries, delivered_at, first_delivery
from chaos.polling import until
from chaos.stackfile import stack_from

__all__ = [
    "query_value", "query_compare", "burn_rate", "burn_rate_below", "alert_state", "alert_quiet",
    "alert_reaches_state",
    "alert_routed", "alert_delivered",
]

_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
              "==": operator.eq, "!=": operator.ne}
_STATES = ("inactive", "pending", "firing", "resolved")


def query_value(query: str, configuration: dict | None = None, secrets: dict | None = None) -> float:
    """The value of a PromQL query returning one sample, as a float."""
    value = prometheus.query_value(stack_from(configuration).prometheus, query)
    if value is None:
        raise ActivityFailed(f"query returned no samples: {query}")
    return value


def query_compare(query: str, comparison: str, threshold: float, timeout_s: float = 0, interval_s: float = 1,
                  configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """True when `query`'s single value satisfies `value <comparison> threshold`, e.g. ("<", 14.4).
    A query without samples does not satisfy anything."""
    if comparison not in _OPERATORS:
        raise ActivityFailed(f"comparison {comparison!r} is not one of {', '.join(_OPERATORS)}")
    url = stack_from(configuration).prometheus
    compare = _OPERATORS[comparison]

    def check() -> tuple[bool, float | None]:
        value = prometheus.query_value(url, query)
        return value is not None and compare(value, float(threshold)), value

    try:
        until(check, timeout_s, f"{query} {comparison} {threshold}", interval_s)
    except ActivityFailed:
        return False
    return True


def _slo(configuration: dict | None, service: str, slo: str):
    stack = stack_from(configuration)
    catalog = load_catalog(stack.catalog)
    try:
        found = catalog.service(service)
    except KeyError as exc:
        raise ActivityFailed(str(exc.args[0])) from None
    for candidate in found.slos:
        if candidate.name == slo:
            return stack, found, candidate
    raise ActivityFailed(f"service {service!r} has no SLO {slo!r} in {catalog.source}")


def burn_rate(service: str, slo: str, window: str = "5m", configuration: dict | None = None,
              secrets: dict | None = None) -> float:
    """How many times faster than sustainable the SLO's error budget burns over `window`
    (the recorded error ratio divided by the budget). 0 when there is no traffic."""
    stack, found, objective = _slo(configuration, service, slo)
    record = error_ratio_record(Duration.parse(window))
    value = prometheus.query_value(stack.prometheus, f'max({record}{{service="{found.name}",slo="{objective.name}"}})')
    return round((value or 0.0) / objective.error_budget, 4)


def burn_rate_below(service: str, slo: str, limit: float, window: str = "5m", timeout_s: float = 0,
                    interval_s: float = 2, configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """True when the SLO's burn rate over `window` is under `limit` (waiting up to `timeout_s`)."""
    def check() -> tuple[bool, float]:
        rate = burn_rate(service, slo, window, configuration)
        return rate < float(limit), rate

    try:
        until(check, timeout_s, f"{service}/{slo} burn rate over {window} below {limit}", interval_s)
    except ActivityFailed:
        return False
    return True


def _selector(alertname: str, labels: dict[str, str] | None) -> dict[str, str]:
    return {"alertname": alertname, **(labels or {})}


def _current(url: str, selector: dict[str, str]) -> tuple[str, list[dict]]:
    found = [a for a in prometheus.alerts(url) if all(a["labels"].get(k) == v for k, v in selector.items())]
    states = {a["state"] for a in found}
    state = "firing" if "firing" in states else "pending" if "pending" in states else "inactive"
    return state, found


def _fired_within(url: str, selector: dict[str, str], seconds: float) -> bool:
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted(selector.items()))
    window = max(int(seconds) + 1, 1)
    found = prometheus.query(url, f'max_over_time(ALERTS{{{matchers},alertstate="firing"}}[{window}s])')
    return bool(found)


def alert_state(alertname: str, labels: dict[str, str] | None = None, lookback_s: float = 900,
                configuration: dict | None = None, secrets: dict | None = None) -> str:
    """`firing`, `pending`, `resolved` (inactive now, fired within `lookback_s`) or `inactive`, for the
    alert's series whose labels include `labels`; the worst state wins."""
    url = stack_from(configuration).prometheus
    selector = _selector(alertname, labels)
    state, _ = _current(url, selector)
    if state == "inactive" and _fired_within(url, selector, lookback_s):
        return "resolved"
    return state


def alert_quiet(alertname: str, labels: dict[str, str] | None = None, timeout_s: float = 0, interval_s: float = 2,
                configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """True when the alert is neither pending nor firing (waiting up to `timeout_s` for that)."""
    url = stack_from(configuration).prometheus
    selector = _selector(alertname, labels)

    def check() -> tuple[bool, str]:
        state, _ = _current(url, selector)
        return state == "inactive", state

    try:
        until(check, timeout_s, f"{alertname} {selector} quiet", interval_s)
    except ActivityFailed:
        return False
    return True


def alert_reaches_state(alertname: str, state: str, labels: dict[str, str] | None = None, timeout_s: float = 0,
                        interval_s: float = 1, configuration: dict | None = None,
                        secrets: dict | None = None) -> dict:
    """Wait until the alert is in `state`; return when it was observed so, and Prometheus' `activeAt`.

    `resolved` means: not pending or firing now, and fired since the current fault was injected."""
    if state not in _STATES:
        raise ActivityFailed(f"state {state!r} is not one of {', '.join(_STATES)}")
    url = stack_from(configuration).prometheus
    selector = _selector(alertname, labels)

    def check() -> tuple[bool, dict]:
        now, found = _current(url, selector)
        seen = {"alertname": alertname, "state": now, "observed_at": time.time(),
                "active_at": min((a["activeAt"] for a in found), default=None),
                "labels": found[0]["labels"] if found else selector}
        if state == "resolved":
            holds = now == "inactive" and _fired_within(url, selector, time.time() - marks.since_fault())
            if holds:
                seen["state"] = "resolved"
            return holds, seen
        return now == state, seen

    return until(check, timeout_s, f"{alertname} {selector} {state}", interval_s)


def alert_routed(alertname: str, receiver: str, labels: dict[str, str] | None = None, timeout_s: float = 0,
                 interval_s: float = 1, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Wait until Alertmanager holds the alert and has routed it to `receiver` (its v2 API's
    `receivers` field); return the alert's fingerprint and receivers."""
    url = stack_from(configuration).alertmanager
    selector = _selector(alertname, labels)

    def check() -> tuple[bool, dict]:
        found = alertmanager.alerts(url, selector)
        receivers = sorted({r["name"] for a in found for r in a.get("receivers", [])})
        seen = {"alertname": alertname, "receivers": receivers, "observed_at": time.time(),
                "fingerprint": found[0]["fingerprint"] if found else None}
        return receiver in receivers, seen

    return until(check, timeout_s, f"Alertmanager routing {alertname} {selector} to {receiver}", interval_s)


def alert_delivered(alertname: str, channel: str, labels: dict[str, str] | None = None, status: str = "firing",
                    timeout_s: float = 0, interval_s: float = 1, configuration: dict | None = None,
                    secrets: dict | None = None) -> dict:
    """Wait until the notifier delivered a message carrying this alert in `status` (firing or
    resolved) to `channel`, after the current fault was injected. The alert is matched by its
    Alertmanager fingerprint while Alertmanager holds it, else by its labels; never by text."""
    stack = stack_from(configuration)
    selector = _selector(alertname, labels)

    def check() -> tuple[bool, dict]:
        held = alertmanager.alerts(stack.alertmanager, selector)
        fingerprint = held[0]["fingerprint"] if len(held) == 1 else None
        found = first_delivery(deliveries(stack.notifier, stack.webhook_token), selector, status,
                               marks.since_fault(), fingerprint)
        if found is None:
            return False, {"alertname": alertname, "fingerprint": fingerprint, "delivered": None}
        seen = {"alertname": alertname, "alert_status": status, "channel": found.get("channel"),
                "delivered_at": delivered_at(found), "group_key": found.get("group_key"),
                "fingerprint": fingerprint, "ts": found.get("ts")}
        return found.get("channel") == channel, seen

    return until(check, timeout_s, f"notifier delivering {alertname} {selector} ({status}) to {channel}",
                 interval_s)
