"""Which metric names exist: the SDK's and the notifier's (docs/contracts.md), the recording rules named
in bongsu/catalog.py, and the series Prometheus and prometheus-client always provide.

A panel that names anything else would stay empty forever, so `bongsu check` fails it.
"""

from __future__ import annotations

from functools import cache

from bongsu import conventions
from bongsu.catalog import (
    BUDGET_REMAINING_RECORD,
    error_ratio_record,
    is_window_record,
    recording_windows,
    request_rate_record,
)

# The SDK's and the notifier's metrics: name -> Prometheus type.
CONTRACT_METRICS: dict[str, str] = conventions.CONTRACT_METRICS
# Always there: Prometheus' own alert and scrape series, prometheus-client's process and runtime metrics.
STANDARD_METRICS = frozenset({"ALERTS", "ALERTS_FOR_STATE", "up", "python_info"})
STANDARD_PREFIXES = ("process_", "python_gc_")


@cache
def known_metrics() -> frozenset[str]:
    """Every exact series name a dashboard may read."""
    names = set(STANDARD_METRICS)
    for name, kind in CONTRACT_METRICS.items():
        names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"} if kind == "histogram" else {name}
    for window in recording_windows():
        names |= {error_ratio_record(window), request_rate_record(window)}
    names.add(BUDGET_REMAINING_RECORD)
    return frozenset(names)


def is_known(name: str) -> bool:
    return name in known_metrics() or name.startswith(STANDARD_PREFIXES) or is_window_record(name)
