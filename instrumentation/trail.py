"""The request's trail: its breadcrumbs (the last log records and outgoing HTTP calls made while
handling it), the exception it logged, and the first bytes of its body, for its error report.

A context variable holds the trail while the request runs; the request's tasks and threadpool calls
inherit it, so a log record or an outgoing call finds its request in one lookup. Log records are taken
in a loguru handler's filter, outgoing calls from their CLIENT spans' end.
"""

from __future__ import annotations

import collections
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanKind

from instrumentation.logs import SERVER_LOGGERS
from instrumentation.selfmetrics import dropped

if TYPE_CHECKING:
    from loguru import Record, RecordException

SIGNAL = "error_reports"  # bongsu_sdk_dropped_total{signal}
BREADCRUMBS = 20  # per request, logs and HTTP calls together, newest kept
BODY_EXCERPT = 1024
_CLIENT = SpanKind.CLIENT
# The server's access line for the request itself (routed into the pipeline by logs.py) repeats the
# report's link: not a breadcrumb.
_ACCESS_LOGGERS = frozenset(name for name in SERVER_LOGGERS if name.endswith(".access"))


class RequestTrail:
    """One request's breadcrumbs (the newest BREADCRUMBS), the exception it logged, and its body
    excerpt. Reached through a context variable, which the request's tasks and threadpool calls
    inherit, so a log record or an outgoing call finds its request in one lookup."""

    __slots__ = ("crumbs", "logged", "body")

    def __init__(self) -> None:
        self.crumbs: collections.deque[tuple[Any, ...]] | None = None
        self.logged: RecordException | None = None
        self.body: bytearray | None = None

    def add(self, crumb: tuple[Any, ...]) -> None:
        crumbs = self.crumbs
        if crumbs is None:
            crumbs = self.crumbs = collections.deque(maxlen=BREADCRUMBS)
        crumbs.append(crumb)


current: ContextVar[RequestTrail | None] = ContextVar("bongsu_request_trail", default=None)
TRAIL_KEY = "bongsu.request_trail"  # the same trail in the ASGI scope / WSGI environ, for the request's end


def log_filter(record: Record) -> bool:
    """loguru calls a handler's filter before formatting and locking, so the breadcrumb is taken here
    and the handler never emits (False): a few hundred nanoseconds per log record instead of a
    formatted message. A logged exception (Flask and Django catch the error and log it) is kept for
    a 5xx that no exception reached the SDK with."""
    trail = current.get()
    if trail is None or "bongsu.error.fingerprint" in record["extra"]:  # not the report's own line
        return False
    try:
        name = record["extra"].get("logger_name") or record["name"]
        if name in _ACCESS_LOGGERS:
            return False
        trail.add(("log", record["time"].timestamp(), record["level"].name, name, record["message"]))
        if record["exception"] is not None and record["level"].no >= 40:
            trail.logged = record["exception"]
    except Exception:  # noqa: BLE001 - a log call must never fail the caller
        dropped(SIGNAL, "sdk_error")
    return False


def no_sink(message: Any) -> None:
    """Never called: `log_filter` does the work and always says no."""


class ClientCallBreadcrumbs(SpanProcessor):
    """Outgoing httpx/requests calls (their CLIENT spans, ended in the request's context) become
    breadcrumbs of the request."""

    def on_end(self, span: ReadableSpan) -> None:
        trail = current.get()
        if trail is None or span.kind is not _CLIENT:
            return
        try:
            attributes = span.attributes or {}
            duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            trail.add(("http", (span.start_time or 0) / 1e9, attributes.get("http.request.method", ""),
                       attributes.get("url.full", ""), attributes.get("http.response.status_code"),
                       attributes.get("error.type"), round(duration_ms, 3)))
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped(SIGNAL, "sdk_error")


def begin(carrier: MutableMapping[str, Any]) -> RequestTrail:
    """A new trail for the request whose ASGI scope or WSGI environ is `carrier`."""
    trail = carrier[TRAIL_KEY] = RequestTrail()
    current.set(trail)
    return trail


def end(carrier: MutableMapping[str, Any]) -> RequestTrail | None:
    """The request's trail, detached from the context."""
    trail = carrier.get(TRAIL_KEY)
    if trail is not None and current.get() is trail:
        current.set(None)  # a server thread or task that runs the next request starts clean
    return trail


class KeepingInput:
    """`wsgi.input` that keeps the first BODY_EXCERPT bytes the app reads."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.excerpt = bytearray()

    def _keep(self, data: bytes) -> bytes:
        if len(self.excerpt) < BODY_EXCERPT and data:
            self.excerpt.extend(data[:BODY_EXCERPT - len(self.excerpt)])
        return data

    def read(self, *args: Any) -> bytes:
        return self._keep(self.stream.read(*args))

    def readinto(self, buffer: Any) -> int | None:  # Werkzeug reads this way when the stream has it
        readinto = getattr(self.stream, "readinto", None)
        if readinto is None:  # PEP 3333 promises only read(); fill the buffer from it
            data = self.stream.read(len(buffer))
            buffer[:len(data)] = data
            size = len(data)
        else:
            size = readinto(buffer)
        if size:
            self._keep(bytes(memoryview(buffer)[:size]))
        return size

    def readline(self, *args: Any) -> bytes:
        return self._keep(self.stream.readline(*args))

    def readlines(self, *args: Any) -> list[bytes]:
        return [self._keep(line) for line in self.stream.readlines(*args)]

    def __iter__(self) -> Any:
        return (self._keep(line) for line in self.stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
