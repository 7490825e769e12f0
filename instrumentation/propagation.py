"""W3C trace context in and out: extract from incoming headers, inject into outgoing calls.

`outgoing_headers()` is the explicit helper; `instrument_http_clients()` patches httpx (sync and
async) and requests so that plain calls get a client span and the traceparent header by themselves,
making `orders` -> `payments` one trace. The exporter's own HTTP requests are never traced.

When an OpenTelemetry contrib instrumentation covers the same client (opentelemetry-instrumentation-
httpx or -requests, globally or on one httpx client), these hooks step aside for that call, so there
is one client span and one traceparent, made by the instrumentation the user chose.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from instrumentation.redaction import Redactor
from instrumentation.selfmetrics import dropped
from instrumentation.serverspan import error_type
from instrumentation.spanqueue import SUPPRESS_KEY

_INBOUND = frozenset({b"traceparent", b"tracestate", b"baggage"})
_TRACER_NAME = "bongsu.instrumentation"
_patched: list[tuple[Any, str, Any]] = []
_redactor: list[Redactor | None] = [None]
# library -> (module, instrumentor class) of the OpenTelemetry contrib instrumentation for it
_CONTRIB = {"httpx": ("opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
            "requests": ("opentelemetry.instrumentation.requests", "RequestsInstrumentor")}


def contrib_active(library: str, client: object) -> bool:
    """True when an OpenTelemetry contrib instrumentation traces this client's calls."""
    if getattr(client, "_is_instrumented_by_opentelemetry", False):  # httpx `instrument_client(client)`
        return True
    module_name, class_name = _CONTRIB[library]
    module = sys.modules.get(module_name)
    return module is not None and bool(getattr(module, class_name)().is_instrumented_by_opentelemetry)


def strip_credentials(url: str) -> str:
    """`user:pass@host` -> `REDACTED:REDACTED@host`, as the semantic conventions ask for `url.full`."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return url
    return f"{scheme}://REDACTED:REDACTED@{authority.rpartition('@')[2]}{slash}{path}"


def url_full(url: str) -> str:
    """`url.full` as the semantic conventions want it: credentials replaced, query redacted."""
    parts = urlsplit(strip_credentials(url))
    netloc = parts.netloc
    query = parts.query
    redact = _redactor[0]
    if query and redact is not None:
        query = redact(query)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def outgoing_headers() -> dict[str, str]:
    """traceparent/tracestate (and baggage) of the current span, to add to an outgoing request."""
    carrier: dict[str, str] = {}
    try:
        propagate.inject(carrier)
    except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
        dropped("traces", "sdk_error")
    return carrier


def extract_asgi(headers: Iterable[tuple[bytes, bytes]]) -> otel_context.Context | None:
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _INBOUND}
    return propagate.extract(carrier) if carrier else None


def extract_wsgi(environ: dict[str, Any]) -> otel_context.Context | None:
    carrier = {name: environ[key] for name, key in (("traceparent", "HTTP_TRACEPARENT"),
                                                     ("tracestate", "HTTP_TRACESTATE"),
                                                     ("baggage", "HTTP_BAGGAGE")) if key in environ}
    return propagate.extract(carrier) if carrier else None


def _start_client_span(method: str, url: str) -> Any:
    parts = urlsplit(url)
    attributes: dict[str, Any] = {"http.request.method": method, "url.full": url_full(url),
                                  "server.address": parts.hostname or ""}
    if parts.port:
        attributes["server.port"] = parts.port
    return trace.get_tracer(_TRACER_NAME).start_span(method, kind=SpanKind.CLIENT, attributes=attributes)


def _end_client_span(span: Any, status: int | None, error: BaseException | None) -> None:
    if status is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_attribute("error.type", str(status))
            span.set_status(StatusCode.ERROR)
    if error is not None:
        span.set_attribute("error.type", error_type(error))
        span.set_status(StatusCode.ERROR)
    span.end()


def _traced_send(library: str, original: Any, method_of: Any, url_of: Any, headers_of: Any, status_of: Any) -> Any:
    @functools.wraps(original)
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if (otel_context.get_value(SUPPRESS_KEY) or contrib_active(library, self)
                or "traceparent" in headers_of(request)):  # the caller chose the context itself
            return original(self, request, *args, **kwargs)
        try:
            span = _start_client_span(method_of(request), url_of(request))
            token = otel_context.attach(trace.set_span_in_context(span))
            propagate.inject(headers_of(request))
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped("traces", "sdk_error")
            return original(self, request, *args, **kwargs)
        status = error = None
        try:
            response = original(self, request, *args, **kwargs)
            status = status_of(response)
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            otel_context.detach(token)
            _end_client_span(span, status, error)

    return send


def _traced_send_async(library: str, original: Any, method_of: Any, url_of: Any, headers_of: Any, status_of: Any) -> Any:
    @functools.wraps(original)
    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if (otel_context.get_value(SUPPRESS_KEY) or contrib_active(library, self)
                or "traceparent" in headers_of(request)):  # the caller chose the context itself
            return await original(self, request, *args, **kwargs)
        try:
            span = _start_client_span(method_of(request), url_of(request))
            token = otel_context.attach(trace.set_span_in_context(span))
            propagate.inject(headers_of(request))
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped("traces", "sdk_error")
            return await original(self, request, *args, **kwargs)
        status = error = None
        try:
            response = await original(self, request, *args, **kwargs)
            status = status_of(response)
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            otel_context.detach(token)
            _end_client_span(span, status, error)

    return send


def _patch(owner: Any, name: str, replacement: Any) -> None:
    _patched.append((owner, name, getattr(owner, name)))
    setattr(owner, name, replacement)


def instrument_http_clients(redactor: Redactor | None = None) -> None:
    """Patch httpx and requests (whichever are installed) once per process."""
    _redactor[0] = redactor
    if _patched:
        return
    try:
        import httpx
    except ImportError:
        pass
    else:
        accessors = (lambda r: r.method, lambda r: str(r.url), lambda r: r.headers, lambda r: r.status_code)
        _patch(httpx.Client, "send", _traced_send("httpx", httpx.Client.send, *accessors))
        _patch(httpx.AsyncClient, "send", _traced_send_async("httpx", httpx.AsyncClient.send, *accessors))
    try:
        import requests
    except ImportError:
        pass
    else:
        accessors = (lambda r: r.method or "GET", lambda r: r.url or "", lambda r: r.headers,
                     lambda r: r.status_code)
        _patch(requests.Session, "send", _traced_send("requests", requests.Session.send, *accessors))


def uninstrument_http_clients() -> None:
    while _patched:
        owner, name, original = _patched.pop()
        setattr(owner, name, original)
