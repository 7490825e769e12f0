"""WSGI middleware (Flask, Django, any WSGI app): the same span, RED metrics and health endpoints as
the ASGI one. The request is measured until the response body is closed, as the server sends it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from instrumentation import errorreports, exposition, health, lifecycle
from instrumentation.propagation import extract_wsgi
from instrumentation.red import UNMATCHED, method_label
from instrumentation.routes import flask_route
from instrumentation.selfmetrics import dropped

ROUTE_KEY = "bongsu.http_route"  # a non-Flask app may set this in environ to name its route template


def _url_map(app: Any) -> Any:
    for candidate in (app, getattr(app, "__self__", None)):
        url_map = getattr(candidate, "url_map", None)
        if url_map is not None and hasattr(url_map, "bind_to_environ"):
            return url_map
    return None


class BongsuWSGIMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._url_map = _url_map(app)

    def __getattr__(self, name: str) -> Any:
        if name == "app":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        state = lifecycle.current()
        path = environ.get("PATH_INFO", "") or "/"
        if path in state.settings.excluded_paths:
            if path == "/metrics":
                return _metrics(state, environ, start_response)
            if path == "/livez":
                return _respond(start_response, *health.liveness(state.identity), health.CONTENT_TYPE)
            if path == "/readyz":
                return _respond(start_response, *health.readiness_sync(state.identity), health.CONTENT_TYPE)
            return self.app(environ, start_response)
        started = time.perf_counter()
        try:
            method = method_label(environ.get("REQUEST_METHOD", "GET"))
            parent = extract_wsgi(environ)
            attributes: dict[str, Any] = {"http.request.method": method, "url.path": path,
                                          "url.scheme": environ.get("wsgi.url_scheme", "http"),
                                          "server.address": environ.get("SERVER_NAME", "")}
            if environ.get("REMOTE_ADDR"):
                attributes["client.address"] = environ["REMOTE_ADDR"]
            span = state.spans.start(parent, method, attributes)
            token = otel_context.attach(trace.set_span_in_context(span.span, parent))
            state.red.started(method)
        except Exception:  # noqa: BLE001
            dropped("traces", "sdk_error")
            return self.app(environ, start_response)
        status = [0]
        errorreports.wsgi_started(span, environ)

        def start_response_wrapper(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            try:
                status[0] = int(status_line.split(" ", 1)[0])
            except ValueError:
                status[0] = 500
            return start_response(status_line, headers, exc_info)

        finish = _Finisher(state, self._url_map, environ, span, method, status, started)
        try:
            body = self.app(environ, start_response_wrapper)
        except BaseException as exc:
            otel_context.detach(token)
            finish(exc)
            raise
        otel_context.detach(token)
        return _ClosingBody(body, finish)


class _Finisher:
    def __init__(self, state: Any, url_map: Any, environ: dict[str, Any], span: Any, method: str,
                 status: list[int], started: float) -> None:
        self.args = (state, url_map, environ, span, method, status, started)
        self.done = False

    def __call__(self, error: BaseException | None) -> None:
        if self.done:
            return
        self.done = True
        state, url_map, environ, span, method, status, started = self.args
        try:
            route = environ.get(ROUTE_KEY) or (flask_route(url_map, environ) if url_map is not None else UNMATCHED)
            code = status[0] or 500
            span.attributes["http.route"] = route
            span.attributes["http.response.status_code"] = code
            span.name = f"{method} {route}"
            if error is not None:
                span.record_exception(error)
            elif code >= 500:
                span.set_error(str(code))
            errorreports.wsgi_ended(span, environ, route, code, error)
            span.end()
            state.red.finished(method, route, code, time.perf_counter() - started,
                               span.context.trace_id if span.sampled else None)
        except Exception:  # noqa: BLE001
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


def _metrics(state: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    token = state.settings.metrics_token
    if token and environ.get("HTTP_AUTHORIZATION", "") != f"Bearer {token}":
        return _respond(start_response, 401, b"metrics need Authorization: Bearer <BONGSU_METRICS_TOKEN>\n",
                        "text/plain")
    body, content_type = exposition.render(environ.get("HTTP_ACCEPT", ""), state.settings.multiprocess_dir)
    return _respond(start_response, 200, body, content_type)


def _respond(start_response: Callable[..., Any], status: int, body: bytes, content_type: str) -> list[bytes]:
    reason = {200: "OK", 401: "Unauthorized", 503: "Service Unavailable"}.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                          ("Cache-Control", "no-store")])
    return [body]


def instrument_wsgi(app: Callable[..., Iterable[bytes]]) -> BongsuWSGIMiddleware:
    """Wrap a WSGI app (a Flask app or `flask_app.wsgi_app`, Django's WSGIHandler, ...)."""
    if isinstance(app, BongsuWSGIMiddleware):
        return app
    return BongsuWSGIMiddleware(app)
