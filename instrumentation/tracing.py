"""The tracer provider: shared resource, sampler from OTEL_TRACES_SAMPLER, OTLP exporter over
HTTP/protobuf (or gRPC), behind the bounded span processor. Without an endpoint, spans are still made
(trace ids for logs and exemplars) but nothing is exported and nothing connects anywhere."""

from __future__ import annotations

import logging

from loguru import logger
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from instrumentation.otlp import OtlpHttpExporter
from instrumentation.settings import Settings
from instrumentation.spanqueue import BoundedSpanProcessor


class _BackendState:
    """Logs once when the trace backend goes down and once when it comes back, not per batch."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.up = True

    def __call__(self, ok: bool) -> None:
        if ok == self.up:
            return
        self.up = ok
        if ok:
            logger.info("trace export to {} recovered", self.endpoint)
        else:
            logger.warning("trace export to {} failing; spans are dropped and counted in "
                           "bongsu_sdk_dropped_total{{signal=\"traces\"}}", self.endpoint)


def _exporter(settings: Settings) -> SpanExporter:
    endpoint = settings.otlp_endpoint
    assert endpoint is not None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        target = endpoint.removeprefix("http://").removeprefix("https://").rstrip("/")
        return GrpcExporter(endpoint=target, insecure=endpoint.startswith("http://") or "://" not in endpoint,
                            timeout=settings.export_timeout_s)
    url = endpoint if endpoint.rstrip("/").endswith("/v1/traces") else endpoint.rstrip("/") + "/v1/traces"
    return OtlpHttpExporter(url, settings.export_timeout_s)


def build(settings: Settings, resource: Resource) -> tuple[TracerProvider, BoundedSpanProcessor | None]:
    provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER / _ARG, parent-based default
    processor = None
    if settings.otlp_endpoint:
        # The OTLP exporters log a stack trace per failed batch; the processor counts and logs state changes.
        logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
        processor = BoundedSpanProcessor(
            _exporter(settings), max_queue_size=settings.span_queue_size, max_batch_size=settings.span_batch_size,
            schedule_delay_s=settings.span_delay_s, on_export=_BackendState(settings.otlp_endpoint))
        provider.add_span_processor(processor)
    return provider, processor
