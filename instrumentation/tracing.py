"""The tracer provider: a standard `opentelemetry.sdk.trace.TracerProvider` (the global one), with
the sampler from init's `sampler=` or OTEL_TRACES_SAMPLER/_ARG (parent-based by default) and the OTLP
exporter (HTTP/protobuf or gRPC) behind the bounded, counted span processor.

The OTel API lets a process set its global provider once. So `init()` attaches to whatever SDK
provider is already global (one set by the distro's launcher, Sentry, a test, or an earlier
`init()`) instead of splitting the pipeline: it adds one `ExportSlot` processor to it, and a later
`init()` swaps what that slot exports to. User processors added with `add_span_processor` sit beside
it and see every span, the server span included. Without an endpoint, spans are still made (trace
ids for logs and exemplars) but nothing is exported and nothing connects anywhere."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from loguru import logger
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from instrumentation.buildinfo import BUILD_KEYS
from instrumentation.otlp import OtlpHttpExporter
from instrumentation.redaction import Redactor
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


class SwitchableSampler(sampling.Sampler):
    """The provider's sampler: delegates to the one the latest `init()` chose, so a second `init()`
    with another `sampler=` (or OTEL_TRACES_SAMPLER) applies to the provider already global."""

    def __init__(self, target: sampling.Sampler) -> None:
        self.target = target

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: TraceState | None = None
                      ) -> sampling.SamplingResult:
        return self.target.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return self.target.get_description()


class ExportSlot(SpanProcessor):
    """Bongsu's one processor on a provider: forwards ended spans to the live bounded processor (none
    between `shutdown()` and the next `init()`), so re-initialising never stacks processors."""

    def __init__(self) -> None:
        self.target: BoundedSpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        target = self.target
        if target is not None:
            target.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        target = self.target
        return target.force_flush(timeout_millis) if target is not None else True

    def shutdown(self) -> None:
        target, self.target = self.target, None
        if target is not None:
            target.shutdown()


def _exporter(settings: Settings, redactor: Redactor | None) -> SpanExporter:
    endpoint = settings.otlp_endpoint
    assert endpoint is not None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        target = endpoint.removeprefix("http://").removeprefix("https://").rstrip("/")
        return GrpcExporter(endpoint=target, insecure=endpoint.startswith("http://") or "://" not in endpoint,
                            timeout=settings.export_timeout_s)
    url = endpoint if endpoint.rstrip("/").endswith("/v1/traces") else endpoint.rstrip("/") + "/v1/traces"
    return OtlpHttpExporter(url, settings.export_timeout_s, redactor)


def bounded_processor(settings: Settings, redactor: Redactor | None) -> BoundedSpanProcessor | None:
    if not settings.otlp_endpoint:
        return None
    # The OTLP exporters log a stack trace per failed batch; the processor counts and logs state changes.
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    return BoundedSpanProcessor(
        _exporter(settings, redactor), max_queue_size=settings.span_queue_size, max_batch_size=settings.span_batch_size,
        schedule_delay_s=settings.span_delay_s, on_export=_BackendState(settings.otlp_endpoint))


_slots: dict[int, ExportSlot] = {}  # id(provider) -> its slot; providers set global live for the process


def slot_for(provider: TracerProvider) -> ExportSlot:
    """The provider's Bongsu slot, added as a processor the first time."""
    slot = _slots.get(id(provider))
    if slot is None:
        slot = _slots[id(provider)] = ExportSlot()
        provider.add_span_processor(slot)
    return slot


def global_provider(settings: Settings, resource: Resource, sampler: sampling.Sampler | None) -> TracerProvider:
    """The process's SDK provider: the one already global (attached to, with a warning for what it
    cannot take), or a new one made global."""
    chosen = sampler or sampling._get_from_env_or_default()  # noqa: SLF001 - the SDK's own env parser
    existing = trace.get_tracer_provider()
    if isinstance(existing, TracerProvider):
        current = existing.sampler
        if isinstance(current, SwitchableSampler):
            current.target = chosen
        elif sampler is not None:
            logger.warning("init: a tracer provider was set before init() with sampler {}; keeping it, "
                           "sampler={} is not applied", current.get_description(), sampler.get_description())
        if _identity_differs(existing.resource, resource):
            if isinstance(current, SwitchableSampler) and hasattr(existing, "_update_resource"):
                # Our own provider from an earlier init() (or a request that auto-initialised the SDK):
                # the SDK's fork hook re-targets its tracers' resource the same way.
                existing._update_resource(resource)  # noqa: SLF001 - opentelemetry-sdk 1.45, tested
            else:
                _add_build_identity(existing, resource)
                logger.warning("init: the tracer provider set before init() keeps its resource (the build identity "
                               "added where it had none): {}",
                               dict(existing.resource.attributes))
        return existing
    provider = TracerProvider(sampler=SwitchableSampler(chosen), resource=resource, shutdown_on_exit=False)
    if isinstance(existing, trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    else:
        logger.warning("init: the global tracer provider {} is not an OpenTelemetry SDK provider; Bongsu's "
                       "server spans use their own provider", type(existing).__name__)
    return provider


def _add_build_identity(provider: TracerProvider, wanted: Resource) -> None:
    """A provider set before init() keeps what its resource says, but gains the build identity keys it
    lacks, so its spans (and the logs and error reports that read its resource) say which build runs."""
    missing = {key: wanted.attributes[key] for key in BUILD_KEYS
               if key in wanted.attributes and key not in provider.resource.attributes}
    if missing and hasattr(provider, "_update_resource"):
        provider._update_resource(Resource(missing))  # noqa: SLF001 - opentelemetry-sdk 1.45, tested


def _identity_differs(kept: Resource, wanted: Resource) -> bool:
    return any(kept.attributes.get(key) != wanted.attributes.get(key)
               for key in wanted.attributes if key != "service.instance.id")
