"""The SDK's own health, as Prometheus counters: every dropped record and every folded label set
is counted here, so a backend outage or a cardinality explosion is visible instead of silent."""

from __future__ import annotations

from prometheus_client import Counter

DROPPED = Counter(
    "bongsu_sdk_dropped_total",
    "Telemetry the SDK dropped instead of blocking or failing the host, by signal and reason.",
    ["signal", "reason"],
)
CARDINALITY_OVERFLOW = Counter(
    "bongsu_sdk_cardinality_overflow_total",
    "Observations folded into the overflow series because a metric reached its label-set cap.",
    ["metric"],
)


def dropped(signal: str, reason: str, count: int = 1) -> None:
    """Count `count` dropped items; never raises (it runs on failure paths)."""
    try:
        DROPPED.labels(signal, reason).inc(count)
    except Exception:  # noqa: BLE001 - a failing self-metric must not fail the caller
        pass
