"""The per-request server span: a real OpenTelemetry SDK span from the provider's tracer.

It is the current span while the request runs, so `trace.get_current_span()` in a handler can be
enriched with the whole Span API; it passes through every processor on the provider (the user's and
Bongsu's bounded exporter); an unsampled request gets a non-recording span with correct ids and
nothing else. `finish()` applies the HTTP semantic conventions at the end of the request and keeps
PII out of the exception event.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from instrumentation import sdkspan
from instrumentation.red import UNMATCHED
from instrumentation.redaction import Redactor

SCOPE_NAME = "bongsu.instrumentation"
SPAN_CONTEXT_ATTRIBUTE = "__bongsu_span_context__"
_SERVER = SpanKind.SERVER
_ERROR = Status(StatusCode.ERROR)


# What the SDK's built-in samplers say about themselves: none of them reads the span name.
_NAME_BLIND = re.compile(r"AlwaysOnSampler|AlwaysOffSampler|TraceIdRatioBased\{[^}]*\}|ParentBased\{|"
                         r"(root|remoteParentSampled|remoteParentNotSampled|localParentSampled|"
                         r"localParentNotSampled):|[{},]")


def reads_name(sampler: Sampler | None) -> bool:
    """False for the SDK's built-in samplers (the name cannot change their decision)."""
    if sampler is None:
        return False
    target = getattr(sampler, "target", sampler)  # tracing.SwitchableSampler
    return bool(_NAME_BLIND.sub("", target.get_description()))


def error_type(error: BaseException) -> str:
    """The semconv `error.type` of an exception: its fully qualified class name."""
    kind = type(error)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


class ServerSpans:
    """Starts request spans on one provider's tracer."""

    def __init__(self, provider: trace.TracerProvider, redactor: Redactor | None) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(SCOPE_NAME)
        self._fast = sdkspan.fast_tracer(self.tracer)
        self.redactor = redactor
        self._sampler: Sampler | None = getattr(provider, "sampler", None)
        self._checked: object = None
        self._reads_name = False

    def sampler_reads_name(self) -> bool:
        """Whether the route must be known before the span starts, so the sampler is asked about
        "GET /route": only for samplers that may read the name (a custom one); re-checked when a
        later `init()` switches the sampler."""
        sampler = self._sampler
        target = getattr(sampler, "target", sampler)
        if target is not self._checked:
            self._reads_name = reads_name(sampler)
            self._checked = target
        return self._reads_name

    def start(self, parent: Context | None, name: str, attributes: Mapping[str, AttributeValue]) -> Span:
        if self._fast is not None:
            return sdkspan.start(self._fast, parent, name, _SERVER, attributes)
        return self.tracer.start_span(name, parent, _SERVER, attributes, record_exception=False,
                                      set_status_on_exception=False)

    def finish(self, span: Span, method: str, route: str, status: int | None, error: BaseException | None,
               cancelled: bool = False) -> None:
        """Name, route, status and error of the ended request, then `end()`.

        An unmatched request keeps the bare method as its name and gets no `http.route`; a request
        cancelled before any response gets no status code and no error (the client went away)."""
        if not span.is_recording():
            span.end()
            return
        generic = method if method != "_OTHER" else "HTTP"
        if route != UNMATCHED:
            if getattr(span, "name", generic) == generic:  # not named before, nor by the application
                span.update_name(f"{generic} {route}")
            if status:
                span.set_attributes({"http.route": route, "http.response.status_code": status})
            else:
                span.set_attribute("http.route", route)
        elif status:
            span.set_attribute("http.response.status_code", status)
        if cancelled:
            span.set_attribute("bongsu.request.cancelled", True)
        elif error is not None:
            self.record_exception(span, error)
        elif status is not None and status >= 500:
            recorded = getattr(span, "attributes", None)  # Flask records its exception before the 500
            if not recorded or "error.type" not in recorded:
                span.set_attribute("error.type", str(status))
            span.set_status(_ERROR)
        span.end()

    def record_exception(self, span: Span, error: BaseException) -> None:
        """`record_exception` with the message and stack trace redacted like log records."""
        redact = self.redactor
        message = str(error)
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        kind = error_type(error)
        span.add_event("exception", {
            "exception.type": kind,
            "exception.message": redact(message) if redact else message,
            "exception.stacktrace": redact(stack) if redact else stack})
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR))
        try:  # the server logs this exception after the request's context is gone: keep its ids on it
            setattr(error, SPAN_CONTEXT_ATTRIBUTE, span.get_span_context())
        except Exception:  # noqa: BLE001 - exceptions with __slots__
            pass
