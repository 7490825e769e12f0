"""Which metric names exist: the SDK's and the notifier's (docs/contracts.md), the recording rules named
in bongsu/catalog.py, and the series Prometheus and prometheus-client always provide.

A panel that names anything else would stay empty forever, so `bongsu check` fails it.
"""

from __future__ import annotations

from functools import cache

from bongsu.catalog import (
    BUDGET_REMAINING_RECORD,
    error_ratio_record,
    is_window_record,
    recording_windows,
    request_rate_record,
)

# docs/contracts.md, "Metrics": name -> Prometheus type.
CONTRACT_METRICS: dict[str, str] = {
    "http_server_request_duration_seconds": "histogram",
    "http_server_active_requests": "gauge",
    "bongsu_sdk_dropped_total": "counter",
    "bongsu_sdk_cardinality_overflow_total": "counter",
    "bongsu_experiment_exposures_total": "counter",
    "bongsu_experiment_conversions_total": "counter",
    "bongsu_notifier_webhooks_received_total": "counter",
    "bongsu_notifier_deliveries_total": "counter",
    "bongsu_notifier_delivery_retries_total": "counter",
    "bongsu_notifier_delivery_failures_total": "counter",
    "bongsu_notifier_queue_depth": "gauge",
    "bongsu_notifier_delivery_latency_seconds": "histogram",
}
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
