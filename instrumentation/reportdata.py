"""What an error report says, built from a request's snapshot on the report thread: the frames with
the culprit (the innermost in-app frame), the fingerprint, the redacted URL, request data and
breadcrumbs, and the report's attributes (docs/contracts.md, "Error reports on the wire")."""

from __future__ import annotations

import hashlib
import json
import linecache
import os
import re
import sys
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from instrumentation.buildinfo import App
from instrumentation.trail import BODY_EXCERPT

if TYPE_CHECKING:
    from loguru import RecordException

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
_SDK_DIR = str(Path(__file__).resolve().parent) + os.sep
_LIBRARY_DIRS = frozenset({"site-packages", "dist-packages"})


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
    logged: RecordException | None
    crumbs: list[tuple[Any, ...]] = field(default_factory=list)
    exceptions: Any = None  # the LabelGuard of an injected registry's bongsu_exceptions_total, else the global


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


@dataclass(frozen=True)
class Occurrence:
    """One error as the rate limiter and the metric see it."""

    error: BaseException | None
    type: str
    culprit: Frame | None
    fingerprint: str


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

    def frames(self, tb: TracebackType | None, source: bool = True) -> list[Frame]:
        """Outermost first, the innermost MAX_FRAMES; `source=False` skips reading source lines (enough
        for the fingerprint and the metric of an occurrence that will not be reported in full)."""
        raw = []
        while tb is not None:
            code = tb.tb_frame.f_code
            raw.append((code.co_filename, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
            tb = tb.tb_next
        raw = raw[-MAX_FRAMES:]
        culprit = max((i for i, (file, _, _) in enumerate(raw) if self.code.in_app(file)), default=-1)
        return [Frame(self.code.display(file), line, function,
                      _cap(linecache.getline(file, line).strip(), TEXT_CAP) if source else "",
                      self.code.in_app(file), i == culprit)
                for i, (file, line, function) in enumerate(raw)]

    def identify(self, captured: Captured) -> Occurrence:
        """Type, culprit and fingerprint: all a suppressed occurrence needs (no source lines read)."""
        error = captured.error
        if error is None and captured.logged is not None:
            error = captured.logged.value
        frames = self.frames(error.__traceback__ if error is not None else None, source=False)
        exc_type = _type_name(error) if error is not None else f"HTTP {captured.status}"
        in_app = [f for f in frames if f.in_app] or frames
        fingerprint = hashlib.sha256("\n".join(
            [exc_type, *(f"{f.file}:{f.function}" for f in in_app)]
            + ([] if frames else [f"{captured.method} {captured.route}"])).encode()).hexdigest()[:16]
        return Occurrence(error, exc_type, next((f for f in frames if f.culprit), None), fingerprint)

    def attributes(self, captured: Captured, occurrence: Occurrence) -> dict[str, Any]:
        """The full report's attributes (docs/contracts.md, "Error reports on the wire")."""
        error, exc_type = occurrence.error, occurrence.type
        frames = self.frames(error.__traceback__ if error is not None else None, source=True)
        culprit = next((f for f in frames if f.culprit), None)
        if error is not None:
            message = _cap(self.scrub(str(error)), MESSAGE_CAP)
            stack = self.scrub("".join(traceback.format_exception(type(error), error, error.__traceback__)))
            stack = stack if len(stack) <= STACK_CAP else "…" + stack[-STACK_CAP:]
        else:
            message = f"{captured.status} response to {captured.method} {captured.route} (no exception reached the SDK)"
            stack = ""
        url = self.url(captured)
        attributes: dict[str, Any] = {
            "exception.type": exc_type, "exception.message": message, "exception.stacktrace": stack,
            "url.full": url, "url.path": urlsplit(url).path, "http.request.method": captured.method,
            "http.route": captured.route, "http.response.status_code": captured.status,
            "error.type": exc_type if error is not None else str(captured.status),
            "bongsu.error.fingerprint": occurrence.fingerprint,
            "bongsu.error.frames": json.dumps([f.as_json() for f in frames]),
            "bongsu.error.breadcrumbs": json.dumps(self.breadcrumbs(captured.crumbs)),
            "bongsu.error.request": json.dumps(self.request_data(captured)),
        }
        if culprit is not None:
            attributes.update({"code.function.name": culprit.function, "code.file.path": culprit.file,
                               "code.line.number": culprit.line, "code.line.source": culprit.source})
        return attributes

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


def _type_name(error: BaseException) -> str:
    """Fully qualified, as semconv asks (`json.decoder.JSONDecodeError`); builtins stay short."""
    kind = type(error)
    return kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"


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
