"""Error reports: for every request that ends in a 5xx or raises, one report with its link (method,
redacted URL, route, status, trace id), behaviour (the request's last log records and outgoing HTTP
calls), data (query, allowlisted headers, a body excerpt; PII redacted, size capped), code line
(frames with source, the innermost in-app frame as culprit), build identity and a fingerprint.

The request path only snapshots the request and appends to a bounded queue; one worker thread builds
the report, rate-limits it per fingerprint, counts it in `bongsu_exceptions_total`, logs it as one
JSON record and sends it as an OTLP/HTTP log record to `BONGSU_ERROR_REPORTS_URL`. A full queue or a
failed send is dropped and counted in `bongsu_sdk_dropped_total{signal="error_reports"}`.

Breadcrumbs are kept per trace id while a request runs: a loguru handler and a span processor (for
the client spans of httpx/requests calls) append to a small ring, and the request's end takes it.
"""

from __future__ import annotations

import collections
import hashlib
import json
import linecache
import os
import re
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from loguru import logger
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY as SUPPRESS_KEY
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from prometheus_client import Counter

from instrumentation.buildinfo import App
from instrumentation.errors import ConfigError
from instrumentation.guard import DEFAULT_MAX_SERIES, LabelGuard
from instrumentation.otlplogs import LogExporter, Record, encode
from instrumentation.selfmetrics import dropped

SIGNAL = "error_reports"
BREADCRUMBS = 20  # per request, logs and HTTP calls together, newest kept
OPEN_REQUESTS = 1024  # requests with breadcrumbs at once; past it the oldest ring is evicted
QUEUE_SIZE = 256
BATCH_SIZE = 32
SEND_TIMEOUT_S = 5.0
DEFAULT_INTERVAL_S = 60.0  # a full report per fingerprint at most this often; counts in between
FINGERPRINTS = 10_000  # rate-limiter memory
BODY_EXCERPT = 1024
MAX_FRAMES = 50
TEXT_CAP = 300  # a breadcrumb message, a header or query value, a source line
MESSAGE_CAP = 2000
STACK_CAP = 16_384
REQUEST_CAP = 8192
HEADER_ALLOWLIST = ("accept", "accept-encoding", "accept-language", "content-length", "content-type", "host",
                    "origin", "referer", "user-agent", "x-forwarded-proto", "x-request-id")
REDACTED = "REDACTED"
# Query, form and JSON keys whose values are secrets whatever they look like (semconv: redact
# credentials and sensitive query values in url.full).
SENSITIVE_KEY = re.compile(r"(?i)pass(word|wd)?|pwd|secret|token|api[-_]?key|auth|session|cookie|signature|^sig$"
                           r"|credential|private|cvv|cvc|card[-_]?number|^code$|^key$|^ssn$")
_SENSITIVE_PAIR = re.compile(
    r"""(?ix)(["']?(?:[\w-]*(?:pass(?:word|wd)?|pwd|secret|token|api[-_]?key|auth\w*|session|cookie|signature
    |credential|private[-_]?key|cvv|cvc|card[-_]?number|ssn))["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^&,;\s}]*)""")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SDK_DIR = str(Path(__file__).resolve().parent) + os.sep
_CLIENT = SpanKind.CLIENT
_LIBRARY_DIRS = frozenset({"site-packages", "dist-packages"})

EXCEPTIONS = Counter("bongsu_exceptions", "Requests that raised or ended in a 5xx, by exception type and culprit "
                     "code line (the innermost in-app frame).",
                     ["exception_type", "code_function", "code_filepath", "code_lineno"])
_exceptions_guard: LabelGuard | None = None


# --- breadcrumbs (request path) -------------------------------------------------------------
class Breadcrumbs:
    """trace id -> the newest BREADCRUMBS crumbs of that request, plus the last exception it logged.
    A ring exists only while its request runs, so calls and logs outside requests cost a lookup."""

    def __init__(self) -> None:
        self.rings: dict[int, collections.deque[tuple[Any, ...]]] = {}
        self.logged: dict[int, Any] = {}
        self._lock = threading.Lock()

    def open(self, trace_id: int) -> None:
        if len(self.rings) >= OPEN_REQUESTS:
            with self._lock:
                oldest = next(iter(self.rings), None)
                if oldest is not None:  # a request whose end the SDK never saw
                    self.rings.pop(oldest, None)
                    self.logged.pop(oldest, None)
                    dropped(SIGNAL, "breadcrumbs_evicted")
        self.rings.setdefault(trace_id, collections.deque(maxlen=BREADCRUMBS))

    def add(self, trace_id: int, crumb: tuple[Any, ...]) -> None:
        ring = self.rings.get(trace_id)
        if ring is not None:
            ring.append(crumb)

    def take(self, trace_id: int) -> tuple[list[tuple[Any, ...]], Any]:
        ring = self.rings.pop(trace_id, None)
        if ring is None:
            return [], None
        return list(ring), self.logged.pop(trace_id, None) if self.logged else None


_crumbs = Breadcrumbs()


def _current_trace_id() -> int:
    context = trace.get_current_span().get_span_context()
    return context.trace_id if context.is_valid else 0


def _log_sink(message: Any) -> None:
    """loguru handler: the request's log records become breadcrumbs; a logged exception (Flask and
    Django catch the error and log it) is kept for a 5xx that no exception reached the SDK with."""
    try:
        trace_id = _current_trace_id()
        if trace_id not in _crumbs.rings:
            return
        record = message.record
        if "bongsu.error.fingerprint" in record["extra"]:  # the report's own log line
            return
        _crumbs.add(trace_id, ("log", record["time"].timestamp(), record["level"].name,
                               record["extra"].get("logger_name") or record["name"], record["message"]))
        if record["exception"] is not None and record["level"].no >= 40:
            _crumbs.logged[trace_id] = record["exception"]
    except Exception:  # noqa: BLE001 - a log call must never fail the caller
        dropped(SIGNAL, "sdk_error")


class ClientCallBreadcrumbs(SpanProcessor):
    """Outgoing httpx/requests calls (their CLIENT spans) become breadcrumbs of the request."""

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if span.kind is not _CLIENT or not span.context or span.context.trace_id not in _crumbs.rings:
                return
            attributes = span.attributes or {}
            duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            _crumbs.add(span.context.trace_id, ("http", (span.start_time or 0) / 1e9,
                                                attributes.get("http.request.method", ""),
                                                attributes.get("url.full", ""),
                                                attributes.get("http.response.status_code"),
                                                attributes.get("error.type"), round(duration_ms, 3)))
        except Exception:  # noqa: BLE001
            dropped(SIGNAL, "sdk_error")


# --- request-path hooks ---------------------------------------------------------------------
@dataclass
class Captured:
    """What the request path hands over: a snapshot, no formatting."""

    time_ns: int
    method: str
    scheme: str
    host: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    route: str
    status: int
    trace_id: int
    span_id: int
    trace_flags: int
    error: BaseException | None
    logged: Any
    crumbs: list[tuple[Any, ...]] = field(default_factory=list)


def asgi_started(span: Any, scope: MutableMapping[str, Any], receive: Any) -> Any:
    """Called once per request after the server span starts: opens its breadcrumb ring, and returns
    `receive`, wrapped to keep the first BODY_EXCERPT bytes when the request may carry a body."""
    if _reporter is None:
        return receive
    try:
        _crumbs.open(span.context.trace_id)
    except Exception:  # noqa: BLE001
        dropped(SIGNAL, "sdk_error")
        return receive
    if scope.get("method") not in _BODY_METHODS:
        return receive
    excerpt = scope["bongsu.body_excerpt"] = bytearray()

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
    try:
        _crumbs.open(span.context.trace_id)
        if environ.get("REQUEST_METHOD") in _BODY_METHODS and "wsgi.input" in environ:
            stream = environ["wsgi.input"] = _KeepingInput(environ["wsgi.input"])
            environ["bongsu.body_excerpt"] = stream.excerpt
    except Exception:  # noqa: BLE001
        dropped(SIGNAL, "sdk_error")


class _KeepingInput:
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


def asgi_ended(span: Any, scope: MutableMapping[str, Any], route: str, status: int,
               error: BaseException | None) -> None:
    """Called once per request before the server span ends; O(1) unless the request failed."""
    try:
        context = span.context
        crumbs, logged = _crumbs.take(context.trace_id) if _crumbs.rings else ([], None)
        if (error is None and status < 500) or _reporter is None:
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        host = next((v for k, v in headers if k == "host"), "")
        server = scope.get("server")
        if not host and server:
            host = f"{server[0]}:{server[1]}" if server[1] else server[0]
        path, root_path = scope.get("path", ""), scope.get("root_path", "")
        if root_path and not path.startswith(root_path):
            path = root_path + path
        _submit(span, Captured(time.time_ns(), scope.get("method", ""), scope.get("scheme", "http"), host, path,
                               scope.get("query_string", b"").decode("latin-1"), headers,
                               bytes(scope.get("bongsu.body_excerpt", b"")), route, status, context.trace_id,
                               context.span_id, int(context.trace_flags), error, logged, crumbs))
    except Exception:  # noqa: BLE001 - the request's own outcome must not change
        dropped(SIGNAL, "sdk_error")


def wsgi_ended(span: Any, environ: dict[str, Any], route: str, status: int, error: BaseException | None) -> None:
    """The WSGI twin of `asgi_ended`."""
    try:
        context = span.context
        crumbs, logged = _crumbs.take(context.trace_id) if _crumbs.rings else ([], None)
        if (error is None and status < 500) or _reporter is None:
            return
        headers = [(key[5:].replace("_", "-").lower(), str(value)) for key, value in environ.items()
                   if key.startswith("HTTP_")]
        headers += [(name, str(environ[key])) for name, key in (("content-type", "CONTENT_TYPE"),
                                                                 ("content-length", "CONTENT_LENGTH"))
                    if environ.get(key)]
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        path = environ.get("SCRIPT_NAME", "") + (environ.get("PATH_INFO", "") or "/")
        _submit(span, Captured(time.time_ns(), environ.get("REQUEST_METHOD", ""),
                               environ.get("wsgi.url_scheme", "http"), host, path, environ.get("QUERY_STRING", ""),
                               headers, bytes(environ.get("bongsu.body_excerpt", b"")), route, status,
                               context.trace_id, context.span_id, int(context.trace_flags), error, logged, crumbs))
    except Exception:  # noqa: BLE001 - the request's own outcome must not change
        dropped(SIGNAL, "sdk_error")


def _submit(span: Any, captured: Captured) -> None:
    reporter = _reporter
    if reporter is None:
        return
    if captured.error is None and captured.logged is not None and not span.events:
        # The framework caught the exception and logged it: it is this 5xx's cause.
        span.record_exception(captured.logged.value)
    reporter.submit(captured)


# --- building a report (worker thread) -------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str
    source: str
    in_app: bool
    culprit: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function, "source": self.source,
                "in_app": self.in_app, "culprit": self.culprit}


class CodeMap:
    """In-app or not, and a short display path, per file. In-app = the app's own code: not the
    standard library, not site-packages, not this SDK; code of the app's own package counts even
    when it is installed into site-packages."""

    def __init__(self, app: App | None) -> None:
        self.app_roots = tuple(self._app_roots(app))
        self.outside = tuple(str(Path(p).resolve()) + os.sep for p in {sysconfig.get_paths()[k] for k in (
            "stdlib", "platstdlib", "purelib", "platlib")})
        self._in_app: dict[str, bool] = {}
        self._display: dict[str, str] = {}

    @staticmethod
    def _app_roots(app: App | None) -> Iterable[str]:
        if app is None or not app.file or app.module == "__main__":
            return ()
        path = Path(app.file).resolve()
        depth = app.module.count(".") + (path.name == "__init__.py")
        return (str(path.parents[depth]) + os.sep,) if depth < len(path.parents) else ()

    def in_app(self, filename: str) -> bool:
        found = self._in_app.get(filename)
        if found is None:
            found = self._in_app[filename] = self._classify(filename)
        return found

    def _classify(self, filename: str) -> bool:
        if filename.startswith("<"):
            return False
        path = os.path.realpath(filename)
        if path.startswith(_SDK_DIR):
            return False
        for root in self.app_roots:  # the app's package, even installed; not a virtualenv inside it
            if path.startswith(root) and not _LIBRARY_DIRS & set(path[len(root):].split(os.sep)):
                return True
        if _LIBRARY_DIRS & set(path.split(os.sep)):
            return False
        return not any(path.startswith(root) for root in self.outside)

    def display(self, filename: str) -> str:
        """The path relative to its sys.path entry (`payments/fees.py`, `starlette/routing.py`): short,
        and the same on every host and virtualenv."""
        found = self._display.get(filename)
        if found is None:
            path = os.path.realpath(filename) if not filename.startswith("<") else filename
            best = ""
            for entry in sys.path:
                root = os.path.realpath(entry or os.getcwd()) + os.sep
                if path.startswith(root) and len(root) > len(best):
                    best = root
            found = self._display[filename] = path[len(best):] if best else path
        return found


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ReportBuilder:
    def __init__(self, app: App | None, redact: Callable[[str], str]) -> None:
        self.code = CodeMap(app)
        self.redact = redact

    def scrub(self, text: str) -> str:
        """Free text (a body, a log message, an exception message): secrets after sensitive keys
        (`password=...`, `"token": "..."`, `api_key=...`), then the PII rules."""
        return self.redact(_SENSITIVE_PAIR.sub(lambda m: m.group(1) + _quoted(m.group(2)), text))

    def frames(self, tb: TracebackType | None) -> list[Frame]:
        raw = []
        while tb is not None:
            code = tb.tb_frame.f_code
            raw.append((code.co_filename, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
            tb = tb.tb_next
        raw = raw[-MAX_FRAMES:]
        culprit = max((i for i, (file, _, _) in enumerate(raw) if self.code.in_app(file)), default=-1)
        return [Frame(self.code.display(file), line, function,
                      _cap(linecache.getline(file, line).strip(), TEXT_CAP), self.code.in_app(file), i == culprit)
                for i, (file, line, function) in enumerate(raw)]

    def url(self, captured: Captured) -> str:
        return redact_url(f"{captured.scheme}://{captured.host}{captured.path}"
                          + (f"?{captured.query}" if captured.query else ""), self.redact)

    def request_data(self, captured: Captured) -> dict[str, Any]:
        query: dict[str, Any] = {}
        for key, value in parse_qsl(captured.query, keep_blank_values=True)[:20]:
            shown = REDACTED if SENSITIVE_KEY.search(key) else _cap(self.redact(value), TEXT_CAP)
            query.setdefault(_cap(key, 100), []).append(shown)
        headers = {}
        for name, value in captured.headers:
            if name in HEADER_ALLOWLIST:
                headers[name] = _cap(redact_url(value, self.redact) if name == "referer" else self.redact(value),
                                     TEXT_CAP)
        data: dict[str, Any] = {"query": {k: v[0] if len(v) == 1 else v for k, v in query.items()},
                                "headers": headers}
        if captured.body:
            text = captured.body.decode("utf-8", "replace")
            form = any(k == "content-type" and v.startswith("application/x-www-form-urlencoded")
                       for k, v in captured.headers)
            data["body"] = _redact_query(text, self.redact) if form else self.scrub(text)
            data["body_truncated"] = len(captured.body) >= BODY_EXCERPT
        if len(json.dumps(data)) > REQUEST_CAP:
            data = {"truncated": True, "headers": headers}
        return data

    def breadcrumbs(self, crumbs: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        out = []
        for crumb in crumbs:
            if crumb[0] == "log":
                _, stamp, level, name, message = crumb
                out.append({"type": "log", "time": _rfc3339(stamp), "level": level, "logger": name,
                            "message": _cap(self.scrub(message), TEXT_CAP)})
            else:
                _, stamp, method, url, status, error, duration_ms = crumb
                item = {"type": "http", "time": _rfc3339(stamp), "method": method,
                        "url": _cap(redact_url(url, self.redact), TEXT_CAP), "status_code": status,
                        "duration_ms": duration_ms}
                if error:
                    item["error"] = error
                out.append(item)
        return sorted(out, key=lambda c: c["time"])


def _quoted(value: str) -> str:
    return f'"{REDACTED}"' if value.startswith('"') else f"'{REDACTED}'" if value.startswith("'") else REDACTED


def _rfc3339(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int((stamp % 1) * 1e6):06d}Z"


def redact_url(url: str, redact: Callable[[str], str]) -> str:
    """Credentials and sensitive query values become REDACTED (semconv `url.full`); PII anywhere else
    goes through the SDK's redaction rules."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}:{REDACTED}@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, redact(parts.path), _redact_query(parts.query, redact), ""))


def _redact_query(query: str, redact: Callable[[str], str]) -> str:
    """`a=1&token=x&email=a%40b.c` -> `a=1&token=REDACTED&email=[REDACTED]` (values decoded first)."""
    return urlencode([(k, REDACTED if SENSITIVE_KEY.search(k) else redact(v))
                      for k, v in parse_qsl(query, keep_blank_values=True)], safe="[]")


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
            _exceptions_guard = LabelGuard(EXCEPTIONS, "bongsu_exceptions_total", 4, max_series)
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
        if not self._closed:
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
            records = []
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
                except Exception:  # noqa: BLE001
                    ok = False
                if not ok:
                    dropped(SIGNAL, "export_failed", len(records))

    def process(self, captured: Captured) -> Record | None:
        """Count the error; for a full report, log it and return its OTLP record."""
        attributes, fingerprint, culprit = self.build(captured)
        assert _exceptions_guard is not None
        _exceptions_guard.child((attributes["exception.type"], culprit.function if culprit else "",
                                 culprit.file if culprit else "", str(culprit.line) if culprit else "")).inc()
        count = self.limiter.admit(fingerprint, time.monotonic())
        if not count:
            return None
        attributes["bongsu.error.count"] = count
        body = f"{attributes['exception.type']}: {attributes['exception.message']}"
        if culprit is not None:
            body += f" at {culprit.file}:{culprit.line} in {culprit.function}"
        self._log(captured, body, attributes)
        return Record(captured.time_ns, body, attributes, captured.trace_id, captured.span_id,
                      captured.trace_flags, event_name="exception")

    def build(self, captured: Captured) -> tuple[dict[str, Any], str, Frame | None]:
        builder = self.builder
        error = captured.error
        if error is None and captured.logged is not None:
            error = captured.logged.value
        frames: list[Frame] = builder.frames(error.__traceback__) if error is not None else []
        culprit = next((f for f in frames if f.culprit), None)
        if error is not None:
            exc_type = type(error).__qualname__
            module = type(error).__module__
            if module not in ("builtins", "__main__"):
                exc_type = f"{module}.{exc_type}"
            message = _cap(builder.scrub(str(error)), MESSAGE_CAP)
            stack = builder.scrub("".join(traceback.format_exception(type(error), error, error.__traceback__)))
            stack = stack if len(stack) <= STACK_CAP else "…" + stack[-STACK_CAP:]
        else:
            exc_type = f"HTTP {captured.status}"
            message = f"{captured.status} response to {captured.method} {captured.route} (no exception reached the SDK)"
            stack = ""
        in_app = [f for f in frames if f.in_app] or frames
        fingerprint = hashlib.sha256("\n".join(
            [exc_type, *(f"{f.file}:{f.function}" for f in in_app)]
            + ([] if frames else [f"{captured.method} {captured.route}"])).encode()).hexdigest()[:16]
        url = builder.url(captured)
        attributes: dict[str, Any] = {
            "exception.type": exc_type, "exception.message": message, "exception.stacktrace": stack,
            "url.full": url, "url.path": urlsplit(url).path, "http.request.method": captured.method,
            "http.route": captured.route, "http.response.status_code": captured.status,
            "error.type": exc_type if error is not None else str(captured.status),
            "bongsu.error.fingerprint": fingerprint,
            "bongsu.error.frames": json.dumps([f.as_json() for f in frames]),
            "bongsu.error.breadcrumbs": json.dumps(builder.breadcrumbs(captured.crumbs)),
            "bongsu.error.request": json.dumps(builder.request_data(captured)),
        }
        if culprit is not None:
            attributes.update({"code.function.name": culprit.function, "code.file.path": culprit.file,
                               "code.line.number": culprit.line, "code.line.source": culprit.source})
        return attributes, fingerprint, culprit

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
    url = options.pop("error_reports_url", None) or env.get("BONGSU_ERROR_REPORTS_URL") or None
    token = options.pop("error_reports_token", None) or env.get("BONGSU_ERROR_REPORTS_TOKEN") or None
    interval = options.pop("error_reports_interval", None)
    source = "error_reports_interval"
    if interval is None:
        raw = env.get("BONGSU_ERROR_REPORTS_INTERVAL", "").strip()
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
    _handler_id = logger.add(_log_sink, level=log_level, format="{message}", backtrace=False, diagnose=False,
                             catch=False)
    if provider is not None:
        provider.add_span_processor(ClientCallBreadcrumbs())


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
