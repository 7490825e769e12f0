"""WSGI middleware (Flask, Django, any WSGI app): the same span, RED metrics and health endpoints as
the ASGI one. The request is measured until the response body is closed, as the server sends it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue
from prometheus_client import CollectorRegistry

from instrumentation import errorreports, exposition, health, lifecycle
from instrumentation.asgi import Telemetry
from instrumentation.guard import LabelGuard
from instrumentation.lifecycle import State
from instrumentation.propagation import extract_wsgi
from instrumentation.red import UNMATCHED, RedMetrics, method_label
from instrumentation.routes import django_route, flask_route
from instrumentation.selfmetrics import dropped
from instrumentation.serverspan import ServerSpans

ROUTE_KEY = "bongsu.http_route"  # a non-Flask app may set this in environ to name its route template
Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None] | None


class StartResponse(Protocol):
    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None, /) -> object: ...


WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
RouteOf = Callable[[Environ], str]


@runtime_checkable
class _FlaskLike(Protocol):
    """A Flask app, recognised by its URL map (Flask is optional, so it is not imported here)."""

    url_map: Any  # werkzeug.routing.Map


def _flask_app(app: object) -> _FlaskLike | None:
    for candidate in (app, getattr(app, "__self__", None)):
        if isinstance(candidate, _FlaskLike) and hasattr(candidate.url_map, "bind_to_environ"):
            return candidate
    return None


def _route_of(app: object) -> RouteOf | None:
    flask = _flask_app(app)
    if flask is not None:
        url_map = flask.url_map
        return lambda environ: flask_route(url_map, environ)
    if type(app).__module__.startswith("django."):
        return django_route
    return None


class BongsuWSGIMiddleware:
    def __init__(self, app: WSGIApp, *, registry: CollectorRegistry | None = None,
                 tracer_provider: trace.TracerProvider | None = None) -> None:
        self.app = app
        self.telemetry = Telemetry(registry, tracer_provider)
        self._route_of = _route_of(app)
        flask = _flask_app(app)
        if flask is not None:
            self._hook_flask_exceptions(flask)

    def _hook_flask_exceptions(self, flask: _FlaskLike) -> None:
        """Flask answers a handler's exception with a 500 itself; its `got_request_exception` signal
        is where the exception is still known, so the server span records it there."""
        from flask import got_request_exception

        def record(sender: object, exception: BaseException, **extra: object) -> None:
            try:
                span = trace.get_current_span()
                if span.is_recording():
                    self.telemetry.spans(lifecycle.current()).record_exception(span, exception)
            except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
                dropped("traces", "sdk_error")

        self._flask_receiver = record  # blinker holds receivers weakly
        got_request_exception.connect(record, flask)

    def __getattr__(self, name: str) -> Any:
        if name == "app":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        state = lifecycle.current()
        path = environ.get("PATH_INFO", "") or "/"
        if path in state.settings.excluded_paths:
            if path == "/metrics":
                return _metrics(state, self.telemetry.registry, environ, start_response)
            if path == "/livez":
                return _respond(start_response, *health.liveness(state.identity), health.CONTENT_TYPE)
            if path == "/readyz":
                return _respond(start_response, *health.readiness_sync(state.identity), health.CONTENT_TYPE)
            return self.app(environ, start_response)
        started = time.perf_counter()
        try:
            spans = self.telemetry.spans(state)
            red = self.telemetry.red(state)
            method = method_label(environ.get("REQUEST_METHOD", "GET"))
            parent = extract_wsgi(environ)
            name = method if method != "_OTHER" else "HTTP"
            if spans.sampler_reads_name() and self._route_of is not None:
                route_before = environ.get(ROUTE_KEY) or self._route_of(environ)
                if route_before != UNMATCHED:
                    name = f"{name} {route_before}"
            span = spans.start(parent, name, _span_attributes(environ, path, method, spans))
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            red.started(method)
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped("traces", "sdk_error")
            return self.app(environ, start_response)
        status = [0]
        errorreports.wsgi_started(span, environ)

        def start_response_wrapper(status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None,
                                   /) -> object:
            try:
                status[0] = int(status_line.split(" ", 1)[0])
            except ValueError:
                status[0] = 500
            return start_response(status_line, headers, exc_info)

        finish = _Finisher(spans, red, self.telemetry.exceptions(), self._route_of, environ, span, method, status,
                           started)
        try:
            body = self.app(environ, start_response_wrapper)
        except BaseException as exc:
            otel_context.detach(token)
            finish(exc)
            raise
        otel_context.detach(token)
        return _ClosingBody(body, finish)


def _span_attributes(environ: Environ, path: str, method: str, spans: ServerSpans) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {"http.request.method": method, "url.path": path,
                                             "url.scheme": environ.get("wsgi.url_scheme", "http")}
    if method == "_OTHER":
        attributes["http.request.method_original"] = environ.get("REQUEST_METHOD", "")
    host = environ.get("HTTP_HOST")
    if host:
        address, _, port = host.rpartition(":") if host.rpartition(":")[2].isdigit() else (host, "", "")
        attributes["server.address"] = address.strip("[]")
    else:
        address, port = environ.get("SERVER_NAME", ""), environ.get("SERVER_PORT", "")
        attributes["server.address"] = address
    if port and str(port).isdigit():
        attributes["server.port"] = int(port)
    protocol = environ.get("SERVER_PROTOCOL", "")
    if protocol.startswith("HTTP/"):
        attributes["network.protocol.version"] = protocol[5:]
    if environ.get("HTTP_USER_AGENT"):
        attributes["user_agent.original"] = environ["HTTP_USER_AGENT"]
    query = environ.get("QUERY_STRING")
    if query:
        attributes["url.query"] = spans.redactor(query) if spans.redactor else query
    if environ.get("REMOTE_ADDR"):
        attributes["client.address"] = environ["REMOTE_ADDR"]
    return attributes


class _Finisher:
    def __init__(self, spans: ServerSpans, red: RedMetrics, exceptions: LabelGuard | None, route_of: RouteOf | None,
                 environ: Environ, span: Span, method: str, status: list[int], started: float) -> None:
        self.spans = spans
        self.red = red
        self.exceptions = exceptions
        self.route_of = route_of
        self.environ = environ
        self.span = span
        self.method = method
        self.status = status
        self.started = started
        self.done = False

    def __call__(self, error: BaseException | None) -> None:
        if self.done:
            return
        self.done = True
        try:
            environ = self.environ
            route = environ.get(ROUTE_KEY) or (self.route_of(environ) if self.route_of is not None else UNMATCHED)
            code = self.status[0] or 500
            cause = errorreports.wsgi_ended(self.span, environ, route, code, error, self.exceptions)
            self.spans.finish(self.span, self.method, route, code, error if error is not None else cause)
            context = self.span.get_span_context()
            self.red.finished(self.method, route, code, time.perf_counter() - self.started,
                              context.trace_id if context.trace_flags.sampled else None)
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped("metrics", "sdk_error")


class _ClosingBody:
    """Iterates the app's body; finishes the telemetry when the server closes it (PEP 3333)."""

    def __init__(self, body: Iterable[bytes], finish: _Finisher) -> None:
        self.body = body
        self.finish = finish

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except BaseException as exc:
            self.finish(exc)
            raise

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.finish(None)


def _metrics(state: State, registry: CollectorRegistry | None, environ: Environ,
             start_response: StartResponse) -> list[bytes]:
    token = state.settings.metrics_token
    if token and environ.get("HTTP_AUTHORIZATION", "") != f"Bearer {token}":
        return _respond(start_response, 401, b"metrics need Authorization: Bearer <BONGSU_METRICS_TOKEN>\n",
                        "text/plain")
    accept = environ.get("HTTP_ACCEPT", "")
    body, content_type = (exposition.render(accept, state.settings.multiprocess_dir) if registry is None
                          else exposition.render(accept, None, registry))
    return _respond(start_response, 200, body, content_type)


def _respond(start_response: StartResponse, status: int, body: bytes, content_type: str) -> list[bytes]:
    reason = {200: "OK", 401: "Unauthorized", 503: "Service Unavailable"}.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                          ("Cache-Control", "no-store")])
    return [body]


def instrument_wsgi(app: WSGIApp, *, registry: CollectorRegistry | None = None,
                    tracer_provider: trace.TracerProvider | None = None) -> BongsuWSGIMiddleware:
    """Wrap a WSGI app (a Flask app or `flask_app.wsgi_app`, Django's WSGIHandler, ...).

    `registry` and `tracer_provider` default to the process's globals that `init()` set up."""
    if isinstance(app, BongsuWSGIMiddleware):
        return app
    return BongsuWSGIMiddleware(app, registry=registry, tracer_provider=tracer_provider)
