"""The SDK's own health, as Prometheus counters: every dropped record and every folded label set
is counted here, so a backend outage or a cardinality explosion is visible instead of silent."""

from __future__ import annotations

import os

from prometheus_client import Counter

from bongsu import conventions
from instrumentation.errors import ConfigError


def _check_multiprocess_dir() -> None:
    """prometheus-client opens its files at the first metric; fail first with the variable's name."""
    path = os.environ.get(conventions.MULTIPROC_DIR) or os.environ.get("prometheus_multiproc_dir")
    if path and not os.path.isdir(path):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={path!r} is not a directory; create it (empty) before "
                          "starting the workers, or unset it for single-process mode")


_check_multiprocess_dir()

DROPPED = Counter(
    conventions.SDK_DROPPED,
    "Telemetry the SDK dropped instead of blocking or failing the host, by signal and reason.",
    ["signal", "reason"],
)
CARDINALITY_OVERFLOW = Counter(
    conventions.SDK_CARDINALITY_OVERFLOW,
    "Observations folded into the overflow series because a metric reached its label-set cap.",
    ["metric"],
)


def dropped(signal: str, reason: str, count: int = 1) -> None:
    """Count `count` dropped items; never raises (it runs on failure paths)."""
    try:
        DROPPED.labels(signal, reason).inc(count)
    except Exception:  # noqa: BLE001 - a failing self-metric must not fail the caller
        pass
