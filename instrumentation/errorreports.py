"""Error reports: for every request that ends in a 5xx or raises, one report with its link (method,
redacted URL, route, status, trace id), behaviour (the request's last log records and outgoing HTTP
calls), data (query, allowlisted headers, a body excerpt; PII redacted, size capped), code line
(frames with source, the innermost in-app frame as culprit), build identity and a fingerprint.

The request path only snapshots the request and appends to a bounded queue; one worker thread builds
the report, rate-limits it per fingerprint, counts it in `bongsu_exceptions_total`, logs it as one
JSON record and sends it as an OTLP/HTTP log record to `BONGSU_ERROR_REPORTS_URL`. A full queue or a
failed send is dropped and counted in `bongsu_sdk_dropped_total{signal="error_reports"}`.

Parts: trail.py keeps each request's breadcrumbs and body excerpt, reportdata.py builds what a report
says, otlplogs.py puts it on the wire; this module holds the hooks, the queue, the rate limit and
the outputs.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, MutableMapping
from typing import Any

from loguru import logger
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY as SUPPRESS_KEY
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, TraceFlags
from prometheus_client import CollectorRegistry, Counter

from bongsu import conventions
from instrumentation.buildinfo import App
from instrumentation.errors import ConfigError
from instrumentation.guard import DEFAULT_MAX_SERIES, LabelGuard
from instrumentation.otlplogs import LogExporter, Record, encode
from instrumentation.reportdata import Captured, ReportBuilder
from instrumentation.selfmetrics import dropped
from instrumentation.trail import (BODY_EXCERPT, SIGNAL, ClientCallBreadcrumbs, KeepingInput, begin, log_filter,
                                   no_sink)
from instrumentation.trail import end as end_trail

QUEUE_SIZE = 256
BATCH_SIZE = 32
SEND_TIMEOUT_S = 5.0
DEFAULT_INTERVAL_S = 60.0  # a full report per fingerprint at most this often; counts in between
FINGERPRINTS = 10_000  # rate-limiter memory
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_EXCEPTIONS_HELP = ("Requests that raised or ended in a 5xx, by exception type and culprit code line (the innermost "
                    "in-app frame).")
_EXCEPTIONS_LABELS = ["exception_type", "code_function", "code_filepath", "code_lineno"]
EXCEPTIONS = Counter("bongsu_exceptions", _EXCEPTIONS_HELP, _EXCEPTIONS_LABELS)
_exceptions_guard: LabelGuard | None = None
# bongsu_exceptions_total in registries given to instrument_asgi/instrument_wsgi (one counter each)
_registry_guards: weakref.WeakKeyDictionary[CollectorRegistry, LabelGuard] = weakref.WeakKeyDictionary()
_breadcrumb_providers: set[int] = set()  # id() of providers that already have a ClientCallBreadcrumbs


def exceptions_in(registry: CollectorRegistry, max_series: int) -> LabelGuard:
    """`bongsu_exceptions_total` in `registry` (a middleware's injected registry), made once per registry."""
    guard = _registry_guards.get(registry)
    if guard is None:
        counter = Counter("bongsu_exceptions", _EXCEPTIONS_HELP, _EXCEPTIONS_LABELS, registry=registry)
        guard = _registry_guards[registry] = LabelGuard(counter, conventions.EXCEPTIONS, 4, max_series)
    return guard


def breadcrumbs_from(provider: Any) -> None:
    """Outgoing calls traced on `provider` become breadcrumbs; added once per SDK provider, and kept
    across `shutdown()`/`init()` (a provider cannot drop a processor), so never doubled."""
    if id(provider) in _breadcrumb_providers or not hasattr(provider, "add_span_processor"):
        return
    provider.add_span_processor(ClientCallBreadcrumbs())
    _breadcrumb_providers.add(id(provider))


# --- request-path hooks ---------------------------------------------------------------------
def asgi_started(span: Any, scope: MutableMapping[str, Any], receive: Any) -> Any:
    """Called once per request after the server span starts: starts its trail, and returns `receive`,
    wrapped to keep the first BODY_EXCERPT bytes when the request may carry a body."""
    if _reporter is None:
        return receive
    trail = begin(scope)
    if scope.get("method") not in _BODY_METHODS:
        return receive
    excerpt = trail.body = bytearray()

    async def receive_and_keep() -> Any:
        message = await receive()
        if len(excerpt) < BODY_EXCERPT and message.get("type") == "http.request":
            excerpt.extend(message.get("body", b"")[:BODY_EXCERPT - len(excerpt)])
        return message

    return receive_and_keep


def wsgi_started(span: Any, environ: dict[str, Any]) -> None:
    """The WSGI twin of `asgi_started`: wraps `wsgi.input` in place."""
    if _reporter is None:
        return
    trail = begin(environ)
    if environ.get("REQUEST_METHOD") in _BODY_METHODS and "wsgi.input" in environ:
        try:
            stream = environ["wsgi.input"] = KeepingInput(environ["wsgi.input"])
            trail.body = stream.excerpt
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped(SIGNAL, "sdk_error")


def asgi_ended(span: Span, scope: MutableMapping[str, Any], route: str, status: int | None,
               error: BaseException | None, exceptions: LabelGuard | None = None) -> BaseException | None:
    """Called once per request before the server span ends; O(1) unless the request failed. `status`
    None is a request cancelled before any response: no report. Returns the exception the server span
    should record when the request raised none itself (the framework caught and logged it).
    `exceptions`: the middleware's own `bongsu_exceptions_total` (an injected registry)."""
    try:
        trail = end_trail(scope)
        if status is None or (error is None and status < 500) or _reporter is None or trail is None:
            return None
        context = span.get_span_context()
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        host = next((v for k, v in headers if k == "host"), "")
        server = scope.get("server")
        if not host and server:
            host = f"{server[0]}:{server[1]}" if server[1] else server[0]
        path, root_path = scope.get("path", ""), scope.get("root_path", "")
        if root_path and not path.startswith(root_path):
            path = root_path + path
        return _submit(span, Captured(time.time_ns(), scope.get("method", ""), scope.get("scheme", "http"), host,
                                      path, scope.get("query_string", b"").decode("latin-1"), headers,
                                      bytes(trail.body or b""), route, status, context.trace_id, context.span_id,
                                      int(context.trace_flags), error, trail.logged, list(trail.crumbs or ()),
                                      exceptions))
    except Exception:  # noqa: BLE001 - the request's own outcome must not change
        dropped(SIGNAL, "sdk_error")
        return None


def wsgi_ended(span: Span, environ: dict[str, Any], route: str, status: int, error: BaseException | None,
               exceptions: LabelGuard | None = None) -> BaseException | None:
    """The WSGI twin of `asgi_ended`."""
    try:
        trail = end_trail(environ)
        if (error is None and status < 500) or _reporter is None or trail is None:
            return None
        context = span.get_span_context()
        headers = [(key[5:].replace("_", "-").lower(), str(value)) for key, value in environ.items()
                   if key.startswith("HTTP_")]
        headers += [(name, str(environ[key])) for name, key in (("content-type", "CONTENT_TYPE"),
                                                                 ("content-length", "CONTENT_LENGTH"))
                    if environ.get(key)]
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        path = environ.get("SCRIPT_NAME", "") + (environ.get("PATH_INFO", "") or "/")
        return _submit(span, Captured(time.time_ns(), environ.get("REQUEST_METHOD", ""),
                                      environ.get("wsgi.url_scheme", "http"), host, path,
                                      environ.get("QUERY_STRING", ""), headers, bytes(trail.body or b""), route,
                                      status, context.trace_id, context.span_id, int(context.trace_flags), error,
                                      trail.logged, list(trail.crumbs or ()), exceptions))
    except Exception:  # noqa: BLE001 - the request's own outcome must not change
        dropped(SIGNAL, "sdk_error")
        return None


def _submit(span: Span, captured: Captured) -> BaseException | None:
    reporter = _reporter
    if reporter is None:
        return None
    reporter.submit(captured)
    if captured.error is not None or captured.logged is None or not span.is_recording():
        return None
    if any(event.name == "exception" for event in getattr(span, "events", ())):
        return None  # recorded already (Flask's got_request_exception, or the application itself)
    # The framework caught the exception and logged it: it is this 5xx's cause.
    return captured.logged.value


class RateLimiter:
    """Per fingerprint: the first report goes at once; later ones within `interval_s` only count, and
    the next full report carries how many it stands for."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._seen: dict[str, list[float]] = {}  # fingerprint -> [last full report (monotonic), count]

    def admit(self, fingerprint: str, now: float) -> int:
        """0 when suppressed, else the number of occurrences this full report stands for."""
        entry = self._seen.get(fingerprint)
        if entry is None:
            if len(self._seen) >= FINGERPRINTS:
                self._seen.pop(next(iter(self._seen)))
            self._seen[fingerprint] = [now, 0]
            return 1
        if now - entry[0] < self.interval_s:
            entry[1] += 1
            return 0
        count = int(entry[1]) + 1
        entry[0], entry[1] = now, 0
        return count


# --- the reporter: queue, worker, outputs --------------------------------------------------
class Reporter:
    def __init__(self, app: App | None, redact: Callable[[str], str], resource: Callable[[], dict[str, Any]],
                 url: str | None, token: str | None, interval_s: float, max_series: int) -> None:
        global _exceptions_guard
        self.builder = ReportBuilder(app, redact)
        self.resource = resource
        self.limiter = RateLimiter(interval_s)
        self.exporter = LogExporter(url, token, SEND_TIMEOUT_S) if url else None
        if _exceptions_guard is None:
            _exceptions_guard = LabelGuard(EXCEPTIONS, conventions.EXCEPTIONS, 4, max_series)
        self._closed = False
        self._start()

    def _start(self) -> None:
        self._queue: collections.deque[Captured] = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="bongsu-error-reports", daemon=True)
        self._thread.start()

    def after_fork(self) -> None:
        """In a forked child the worker thread does not exist: start a fresh one, drop the parent's queue."""
        if not self._closed:
            if self.exporter is not None:
                self.exporter.after_fork()
            self.limiter = RateLimiter(self.limiter.interval_s)  # a new instance reports its own firsts
            self._start()

    def submit(self, captured: Captured) -> None:
        """Request path: O(1), never blocks, never raises."""
        if self._closed:
            dropped(SIGNAL, "shutdown")
            return
        if len(self._queue) >= QUEUE_SIZE:
            dropped(SIGNAL, "queue_full")
            return
        self._queue.append(captured)
        self._wake.set()

    def _run(self) -> None:
        otel_context.attach(otel_context.set_value(SUPPRESS_KEY, True))  # our POSTs are not traced
        while not self._closed:
            self._wake.wait(1.0)
            self._wake.clear()
            self._idle.clear()
            try:
                self._drain()
            finally:
                self._idle.set()

    def _drain(self) -> None:
        while self._queue:
            records: list[Record] = []
            while self._queue and len(records) < BATCH_SIZE:
                captured = self._queue.popleft()
                try:
                    record = self.process(captured)
                except Exception:  # noqa: BLE001 - one bad report must not stop the worker
                    dropped(SIGNAL, "sdk_error")
                    continue
                if record is not None:
                    records.append(record)
            if records and self.exporter is not None:
                try:
                    body = encode(self.resource(), records, time.time_ns())
                    ok = self.exporter.export(body)
                except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
                    ok = False
                if not ok:
                    dropped(SIGNAL, "export_failed", len(records))

    def process(self, captured: Captured) -> Record | None:
        """Count the error; for a full report (the rate limiter admits it), log it and return its OTLP
        record. A suppressed occurrence costs a walk of its traceback, no source lines or formatting."""
        occurrence = self.builder.identify(captured)
        culprit = occurrence.culprit
        guard = captured.exceptions or _exceptions_guard
        assert guard is not None
        guard.child((occurrence.type, culprit.function if culprit else "", culprit.file if culprit else "",
                     str(culprit.line) if culprit else "")).inc()
        count = self.limiter.admit(occurrence.fingerprint, time.monotonic())
        if not count:
            return None
        attributes = self.builder.attributes(captured, occurrence)
        attributes["bongsu.error.count"] = count
        body = f"{occurrence.type}: {attributes['exception.message']}"
        if "code.file.path" in attributes:
            body += (f" at {attributes['code.file.path']}:{attributes['code.line.number']} in "
                     f"{attributes['code.function.name']}")
        self._log(captured, body, attributes)
        return Record(captured.time_ns, body, attributes, captured.trace_id, captured.span_id,
                      captured.trace_flags, event_name="exception")

    def _log(self, captured: Captured, body: str, attributes: dict[str, Any]) -> None:
        """One JSON log record, in the request's trace, shipped like every log line."""
        fields = {key: json.loads(value) if key in ("bongsu.error.frames", "bongsu.error.breadcrumbs",
                                                     "bongsu.error.request") else value
                  for key, value in attributes.items() if key != "exception.stacktrace"}
        span = NonRecordingSpan(SpanContext(captured.trace_id, captured.span_id, False,
                                            TraceFlags(captured.trace_flags & 0xFF)))
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            logger.bind(**fields).error("error report: {}", body)
        finally:
            otel_context.detach(token)

    def flush(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while (self._queue or not self._idle.is_set()) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self._queue and self._idle.is_set()

    def close(self, timeout_s: float) -> bool:
        """Flush within `timeout_s`, drop (and count) what is left; never waits longer."""
        if self._closed:
            return True
        flushed = self.flush(timeout_s)
        self._closed = True
        self._wake.set()
        left = len(self._queue)
        self._queue.clear()
        if left:
            dropped(SIGNAL, "shutdown", left)
        if self.exporter is not None:
            threading.Thread(target=self.exporter.close, name="bongsu-error-reports-close", daemon=True).start()
        return flushed and not left


_reporter: Reporter | None = None
_handler_id: int | None = None


def load_options(options: dict[str, Any]) -> dict[str, Any]:
    """Pops this module's init() options (`error_reports`, `error_reports_url`, `error_reports_token`,
    `error_reports_interval`) and merges the BONGSU_ERROR_REPORTS_* environment; validated here."""
    env = os.environ
    enabled = options.pop("error_reports", True)
    url = options.pop("error_reports_url", None) or env.get(conventions.ERROR_REPORTS_URL) or None
    token = options.pop("error_reports_token", None) or env.get(conventions.ERROR_REPORTS_TOKEN) or None
    interval = options.pop("error_reports_interval", None)
    source = "error_reports_interval"
    if interval is None:
        raw = env.get(conventions.ERROR_REPORTS_INTERVAL, "").strip()
        source = f"BONGSU_ERROR_REPORTS_INTERVAL={raw!r}"
        try:
            interval = float(raw) if raw else DEFAULT_INTERVAL_S
        except ValueError:
            raise ConfigError(f"{source} is not a number of seconds") from None
    if interval < 0:
        raise ConfigError(f"{source} must be zero or more seconds, got {interval}")
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError(f"BONGSU_ERROR_REPORTS_URL (or error_reports_url) {url!r} must be an http(s) URL, "
                          "for example http://127.0.0.1:4318/v1/logs")
    return {"enabled": bool(enabled), "url": url, "token": token, "interval_s": float(interval)}


def start(config: dict[str, Any], app: App | None, redact: Callable[[str], str],
          resource: Callable[[], dict[str, Any]], provider: Any, log_level: str, max_series: int = DEFAULT_MAX_SERIES
          ) -> None:
    """Called by init() after the log pipeline is configured."""
    global _reporter, _handler_id
    if not config["enabled"]:
        return
    _reporter = Reporter(app, redact, resource, config["url"], config["token"], config["interval_s"], max_series)
    _handler_id = logger.add(no_sink, level=log_level, filter=log_filter, format="", backtrace=False,
                             diagnose=False, catch=False)
    if provider is not None:
        breadcrumbs_from(provider)


def stop(timeout_s: float) -> bool:
    """Called by shutdown(): flush reports within `timeout_s`. True when nothing was dropped."""
    global _reporter, _handler_id
    reporter, _reporter = _reporter, None
    if _handler_id is not None:
        try:
            logger.remove(_handler_id)
        except ValueError:
            pass
        _handler_id = None
    return reporter.close(timeout_s) if reporter is not None else True


def _after_fork_in_child() -> None:
    reporter = _reporter
    if reporter is not None:
        try:
            reporter.after_fork()
        except Exception:  # noqa: BLE001 - a fork hook must never break the child
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
