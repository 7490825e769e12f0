"""The alert's value when it resolved, so a resolved message does not keep repeating the value the
firing description was rendered with ("15.73x faster than sustainable") as if it were still true.

Prometheus resends a resolved alert with the annotations of its last firing evaluation, and
Alertmanager's webhook carries no value. The value comes from Prometheus instead: the alert's
expression (from its generatorURL) up to its first comparison, evaluated at the alert's end, on the
series whose labels match the alert's.
"""

from __future__ import annotations

import re

import httpx

from notifier.graph import expression
from notifier.payload import Alert

# The first top-level comparison (`>`, `<`, `>=`, `<=`, `==`, `!=`) ends the alert's value.
_COMPARISON = re.compile(r"\s(?:>=?|<=?|==|!=)\s")


def value_expression(expr: str) -> str:
    """`a / 0.001 > 14.4 and on(...) b > 14.4` -> `a / 0.001`: what `$value` is while it fires."""
    depth = 0
    for index, char in enumerate(expr):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and _COMPARISON.match(expr, index):
            return expr[:index].strip()
    return expr.strip()


def value_at_resolution(prometheus_url: str, alert: Alert, timeout: float = 3.0) -> float | None:
    """The value at the alert's end; None when it cannot be known (no expression, no such series, or
    Prometheus unreachable). Never raises: a resolution is delivered with or without it."""
    expr = expression(alert.generator_url)
    if not expr or alert.ends_at is None or alert.ends_at.year <= 1:
        return None
    try:
        answer = httpx.get(f"{prometheus_url.rstrip('/')}/api/v1/query", timeout=timeout,
                           params={"query": value_expression(expr), "time": alert.ends_at.timestamp()})
        answer.raise_for_status()
        series = answer.json()["data"]["result"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return None
    for item in series:
        if all(alert.labels.get(key) == value for key, value in item["metric"].items() if key != "__name__"):
            return float(item["value"][1])
    return None
