"""The request span, started without the SDK's per-span overhead, and still a true SDK span.

`Tracer.start_span` re-validates every start attribute through `BoundedAttributes` (an isinstance
ladder per value: 7-20 us for the server span's nine), and every later `set_attribute` does the same.
`start()` here does what `Tracer.start_span` does, in the same order (parent from the context, ids
from the provider's generator, the provider's sampler deciding, the tracer's self-metrics, the
processors' `on_start`), but builds a `RequestSpan`: an `opentelemetry.sdk.trace.Span` subclass
whose attributes are a `PlainAttributes`, a `BoundedAttributes` that accepts the values the spec
leaves unchanged (a non-empty str key; a str within the length limit, bool, int, float, bytes, None)
without the ladder, and hands everything else (sequences, mappings, odd types, a length
limit to apply) to the SDK's own code. `Span.__init__`'s fields are set directly (no second, empty
BoundedAttributes; the events and links lists made on the first one), and `on_end` gets the ended span itself instead of a `ReadableSpan` copy.
Processors and exporters see an SDK `Span` and `ReadableSpan` with SDK `BoundedAttributes`; limits,
type rules and the ended-span checks are the SDK's.

Tied to opentelemetry-sdk 1.45's `Tracer` internals (`_span_limits`, `_tracer_metrics`,
`_instrumentation_scope`, `_is_enabled`); `fast_tracer()` returns None for any other tracer class,
and the caller then uses the tracer's own `start_span`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

_UNCHANGED = frozenset({bool, int, float, bytes, type(None)})  # `_clean_attribute_value` returns these as they are
_SAMPLED = trace_api.TraceFlags(trace_api.TraceFlags.SAMPLED)
_NOT_SAMPLED = trace_api.TraceFlags(trace_api.TraceFlags.DEFAULT)
_RANDOM = trace_api.TraceFlags.RANDOM_TRACE_ID
_UNSET = Status(StatusCode.UNSET)


class PlainAttributes(BoundedAttributes):
    """`BoundedAttributes` with a fast path for values the SDK's cleaning would keep as they are."""

    def _plain(self, key: Any, value: Any) -> bool:
        if type(key) is not str or not key:
            return False
        kind = type(value)
        if kind is str:
            limit = self.max_value_len
            return limit is None or len(value) <= limit
        return kind in _UNCHANGED

    def __setitem__(self, key: str, value: Any) -> None:
        if self._immutable or not self._plain(key, value) or self.maxlen == 0:
            super().__setitem__(key, value)
            return
        with self._lock:
            self._setitem_locked(key, value)

    def _set_items(self, attributes: Mapping[str, Any]) -> None:
        limit = self.max_value_len
        maxlen = self.maxlen
        if self._immutable or maxlen == 0:
            super()._set_items(attributes)
            return
        for key, value in attributes.items():
            kind = type(value)
            if (type(key) is not str or not key
                    or (kind is not str and kind not in _UNCHANGED)
                    or (kind is str and limit is not None and len(value) > limit)):
                super()._set_items(attributes)
                return
        with self._lock:
            if not self._dict and (maxlen is None or len(attributes) <= maxlen):
                self._dict.update(attributes)  # the start attributes: nothing to replace or evict
                return
            for key, value in attributes.items():
                self._setitem_locked(key, value)


class RequestSpan(sdk_trace.Span):
    """An SDK span whose attributes take the fast path (see `PlainAttributes`)."""

    def __init__(self, name: str, context: trace_api.SpanContext, parent: trace_api.SpanContext | None,
                 tracer: sdk_trace.Tracer, attributes: Mapping[str, AttributeValue], kind: SpanKind,
                 record_end_metrics: Any) -> None:
        # `Span.__init__`'s fields, set directly: it would build and validate the attributes, a second
        # empty BoundedAttributes, and check the (absent) events and links. tests/sdk/test_current_span.py
        # compares the field set with an SDK span's, so an SDK upgrade that adds one fails there, not in production.
        limits = tracer._span_limits  # noqa: SLF001 - mirrors the pinned SDK Tracer (docstring)
        self._name = name
        self._context = context
        self._kind = kind
        self._instrumentation_info = tracer.instrumentation_info
        self._instrumentation_scope = tracer._instrumentation_scope  # noqa: SLF001 - mirrors the pinned SDK Tracer (docstring)
        self._parent = parent
        self._start_time: int | None = None
        self._end_time: int | None = None
        self._resource = tracer.resource
        self._status = _UNSET
        self._sampler = tracer.sampler
        self._trace_config = None
        self._record_exception = False
        self._set_status_on_exception = False
        self._span_processor = tracer.span_processor
        self._limits = limits
        self._lock = threading.Lock()
        self._attributes = PlainAttributes(limits.max_span_attributes, attributes, immutable=False,
                                           max_value_len=limits.max_span_attribute_length)
        # Most request spans get no event and no link: their BoundedLists are made on the first one.
        self._events: BoundedList[sdk_trace.Event] | tuple[()] = ()
        self._links: BoundedList[trace_api.Link] | tuple[()] = ()
        self._record_end_metrics = record_end_metrics

    def _add_event(self, event: sdk_trace.EventBase) -> None:
        with self._lock:
            if type(self._events) is tuple:
                self._events = BoundedList(self._limits.max_events)
        super()._add_event(event)  # the SDK's: refused (with its warning) once the span has ended

    def _add_link(self, link: trace_api.Link) -> None:
        with self._lock:
            if type(self._links) is tuple:
                self._links = BoundedList(self._limits.max_links)
        super()._add_link(link)

    def _readable_span(self) -> sdk_trace.ReadableSpan:
        """What `end()` hands to `on_end`: the span itself (a ReadableSpan, and immutable once ended:
        the SDK refuses attributes, events, links, status and name changes after `end()`), not a copy."""
        return self


def fast_tracer(tracer: trace_api.Tracer) -> sdk_trace.Tracer | None:
    """The tracer, when `start()` can stand in for its `start_span` (exactly the SDK's class)."""
    return tracer if type(tracer) is sdk_trace.Tracer else None


def start(tracer: sdk_trace.Tracer, parent: Context | None, name: str, kind: SpanKind,
          attributes: Mapping[str, AttributeValue]) -> trace_api.Span:
    """`tracer.start_span(name, parent, kind, attributes, record_exception=False,
    set_status_on_exception=False)`, step for step, making a `RequestSpan`."""
    current = trace_api.get_current_span(parent).get_span_context()
    if not tracer._is_enabled():  # noqa: SLF001 - mirrors the pinned SDK Tracer (docstring)
        return trace_api.NonRecordingSpan(context=current)
    ids = tracer.id_generator
    parent_context: trace_api.SpanContext | None = None
    if current is None or not current.is_valid:
        trace_id = ids.generate_trace_id()
        random_id = ids.is_trace_id_random()
    else:
        parent_context = current
        trace_id = current.trace_id
        random_id = current.trace_flags.random_trace_id
    result = tracer.sampler.should_sample(parent, trace_id, name, kind, attributes, ())
    decision = result.decision
    flags = _SAMPLED if decision is Decision.RECORD_AND_SAMPLE else _NOT_SAMPLED
    if random_id:
        flags = trace_api.TraceFlags(flags | _RANDOM)
    context = trace_api.SpanContext(trace_id, ids.generate_span_id(), is_remote=False, trace_flags=flags,
                                    trace_state=result.trace_state)
    record_end_metrics = tracer._tracer_metrics.start_span(parent_context, decision)  # noqa: SLF001 - mirrors the pinned SDK Tracer (docstring)
    if decision is Decision.DROP:  # `Decision.is_recording()`, typed
        return trace_api.NonRecordingSpan(context=context)
    span = RequestSpan(name, context, parent_context, tracer, result.attributes, kind, record_end_metrics)
    span.start(parent_context=parent)
    return span
