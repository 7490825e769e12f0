"""HTTP server RED metrics in the OpenTelemetry semantic conventions' Prometheus form.

Created once by `init()` (the buckets are an init option); the ASGI and WSGI middlewares call
`record()` once per request with the route template, never the raw path.
"""

from __future__ import annotations

import time
from bisect import bisect_left

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Histogram

from bongsu import conventions
from instrumentation.guard import LabelGuard

DURATION = conventions.HTTP_REQUEST_DURATION
ACTIVE = conventions.HTTP_ACTIVE_REQUESTS
# The OpenTelemetry HTTP semantic conventions' advised buckets (seconds); equal to
# bongsu.catalog.DEFAULT_BUCKETS (a test checks), kept here so services need not import the catalog.
ADVISED_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
UNMATCHED = conventions.ROUTE_UNMATCHED
OTHER_METHOD = "_OTHER"  # semconv: methods outside the known set
# Prometheus keeps one exemplar per bucket and series; refreshing it more often than this only costs
# CPU (prometheus-client validates every exemplar).
EXEMPLAR_INTERVAL_S = 0.1
KNOWN_METHODS = frozenset({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else OTHER_METHOD


class RedMetrics:
    def __init__(self, buckets: tuple[float, ...], max_series: int, exemplars: bool,
                 registry: CollectorRegistry = REGISTRY) -> None:
        self.buckets = buckets
        self.registry = registry
        self.exemplars = exemplars
        self.duration = Histogram(DURATION, "Duration of HTTP server requests.",
                                  list(conventions.HTTP_DURATION_LABELS),
                                  buckets=buckets, registry=registry)
        self.active = Gauge(ACTIVE, "Number of HTTP server requests in flight.", [conventions.HTTP_REQUEST_METHOD],
                            multiprocess_mode="livesum", registry=registry)
        self._guard = LabelGuard(self.duration, DURATION, 3, max_series)
        self._active = {m: self.active.labels(m) for m in (*KNOWN_METHODS, OTHER_METHOD)}
        # (series, bucket) -> when its exemplar was last set; bounded by max_series x buckets.
        self._exemplar_at: dict[tuple[int, int], float] = {}

    def started(self, method: str) -> None:
        self._active[method].inc()

    def finished(self, method: str, route: str, status: int | None, seconds: float, trace_id: int | None) -> None:
        """`trace_id` of the sampled request (None when not sampled) becomes the bucket's exemplar;
        `status` None (no response was sent: the request was cancelled) is an empty status label."""
        self._active[method].dec()
        child = self._guard.child((method, route, str(status) if status else ""))
        if trace_id is not None and self.exemplars:
            key = (id(child), bisect_left(self.buckets, seconds))
            now = time.monotonic()
            if now - self._exemplar_at.get(key, -1.0) >= EXEMPLAR_INTERVAL_S:
                self._exemplar_at[key] = now
                child.observe(seconds, {"trace_id": format(trace_id, "032x")})
                return
        child.observe(seconds)
