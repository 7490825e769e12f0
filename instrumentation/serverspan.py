"""The per-request server span, built cheaply.

The OTel SDK's `Span` validates every attribute through `BoundedAttributes` and takes locks on each
change; on this machine that is most of a request's instrumentation cost. A server span's
attributes are known strings and ints, so this module samples with the provider's own sampler,
takes ids from its id generator, puts a `NonRecordingSpan` in the context for the request (children
and log records see the right trace and span ids), and hands a finished `ReadableSpan` to the
bounded processor at the end: the same OTLP bytes, a fraction of the work.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from instrumentation.spanqueue import BoundedSpanProcessor

_SERVER = SpanKind.SERVER
_UNSET = Status(StatusCode.UNSET)
_ERROR = Status(StatusCode.ERROR)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_RANDOM = 0x02  # W3C level 2 "random trace id" flag, as the SDK sets it


class RequestSpan:
    """One request's span: a context for the request, and its data until `end()`."""

    __slots__ = ("factory", "context", "parent", "span", "attributes", "start_ns", "events", "status", "name")

    def __init__(self, factory: ServerSpans, context: SpanContext, parent: SpanContext | None,
                 attributes: dict[str, Any], name: str) -> None:
        self.factory = factory
        self.context = context
        self.parent = parent
        self.span = NonRecordingSpan(context)
        self.attributes = attributes
        self.start_ns = time.time_ns()
        self.events: list[Event] = []
        self.status = _UNSET
        self.name = name

    @property
    def sampled(self) -> bool:
        return self.context.trace_flags.sampled

    def record_exception(self, error: BaseException) -> None:
        self.events.append(Event("exception", {
            "exception.type": type(error).__qualname__, "exception.message": str(error),
            "exception.stacktrace": "".join(traceback.format_exception(type(error), error, error.__traceback__))}))
        self.attributes["error.type"] = type(error).__qualname__
        self.status = _ERROR

    def set_error(self, error_type: str) -> None:
        self.attributes["error.type"] = error_type
        self.status = _ERROR

    def end(self) -> None:
        factory = self.factory
        if factory.processor is None or not self.context.trace_flags.sampled:
            return
        factory.processor.on_end(ReadableSpan(
            self.name, context=self.context, parent=self.parent, resource=factory.provider.resource,
            attributes=self.attributes, events=self.events, kind=_SERVER, status=self.status,
            start_time=self.start_ns, end_time=time.time_ns(), instrumentation_scope=factory.scope))


class ServerSpans:
    """Starts request spans with the provider's sampler and id generator."""

    def __init__(self, provider: TracerProvider | None, processor: BoundedSpanProcessor | None, scope_name: str) -> None:
        self.provider = provider
        self.processor = processor
        self.scope = InstrumentationScope(scope_name)
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        self._ids = provider.id_generator if provider is not None else RandomIdGenerator()
        self._sampler = provider.sampler if provider is not None else None
        self._random_ids = bool(getattr(self._ids, "is_trace_id_random", lambda: False)())

    def start(self, parent_context: Context | None, method: str, attributes: dict[str, Any]) -> RequestSpan:
        parent = trace.get_current_span(parent_context).get_span_context() if parent_context is not None else None
        if parent is not None and not parent.is_valid:
            parent = None
        trace_id = parent.trace_id if parent is not None else self._ids.generate_trace_id()
        if self._sampler is None:  # traces disabled: ids for logs, nothing exported
            flags, trace_state = _NOT_SAMPLED, parent.trace_state if parent is not None else None
        else:
            result = self._sampler.should_sample(parent_context, trace_id, method, _SERVER, attributes, ())
            flags = _SAMPLED if result.decision.is_sampled() else _NOT_SAMPLED
            trace_state = result.trace_state
            if result.attributes:
                attributes.update(result.attributes)
        random_id = bool(parent.trace_flags & _RANDOM) if parent is not None else self._random_ids
        if random_id:
            flags = TraceFlags(flags | _RANDOM)
        context = SpanContext(trace_id, self._ids.generate_span_id(), is_remote=False, trace_flags=flags,
                              trace_state=trace_state)
        return RequestSpan(self, context, parent, attributes, method)
