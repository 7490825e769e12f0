"""`/metrics`: Prometheus text by default, OpenMetrics (with exemplars) when the scraper asks for it,
and the aggregated view of all workers in prometheus-client's multiprocess mode."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder


def render(accept: str, multiprocess_dir: str | None, registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    encoder, content_type = choose_encoder(accept)
    if multiprocess_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]  # prometheus-client leaves this __init__ unannotated
        return encoder(registry), content_type
    return encoder(registry), content_type
