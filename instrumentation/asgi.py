"""ASGI middleware: one server span, RED metrics and the health/metrics endpoints per app.

Pure ASGI (no BaseHTTPMiddleware), so the per-request cost is a span, a histogram observation and
a few dict lookups. Every telemetry step is guarded: an SDK failure is counted, never raised into the
application, and the application's own exceptions pass through unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from loguru import logger
from opentelemetry import context as otel_context
from opentelemetry import trace

from instrumentation import errorreports, exposition, health, lifecycle
from instrumentation.propagation import extract_asgi
from instrumentation.red import method_label
from instrumentation.routes import asgi_route
from instrumentation.selfmetrics import dropped
from instrumentation.serverspan import RequestSpan

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _disable_fastapi_native_telemetry(app: Any) -> None:
    """FastAPI 0.16x makes its own server span and duration histogram once a global provider is set;
    with ours that would double both. We turn its HTTP tracing, metrics and logs off for this app and
    keep ours as the single server span (its operation spans need its server span, so they go too)."""
    config = getattr(app, "_telemetry", None)
    if isinstance(config, dict) and "tracing" in config:
        config.update(tracing=False, metrics=False, logs=False, operation_spans=False)


class BongsuASGIMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app
        _disable_fastapi_native_telemetry(app)

    def __getattr__(self, name: str) -> Any:
        # `app.state`, `app.include_router(...)` and friends keep working on the wrapped app.
        if name == "app":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = lifecycle.current()
        path = scope["path"]
        if path in state.settings.excluded_paths:
            if path == "/metrics":
                await _metrics(state, scope, send)
            elif path == "/livez":
                await _respond(send, *health.liveness(state.identity), health.CONTENT_TYPE)
            elif path == "/readyz":
                await _respond(send, *(await health.readiness_async(state.identity)), health.CONTENT_TYPE)
            else:
                await self.app(scope, receive, send)
            return
        await self._traced(state, scope, receive, send)

    async def _traced(self, state: Any, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            method = method_label(scope["method"])
            root_path = scope.get("root_path", "")
            parent = extract_asgi(scope["headers"])
            span = state.spans.start(parent, method, _span_attributes(scope, method))
            token = otel_context.attach(trace.set_span_in_context(span.span, parent))
            state.red.started(method)
        except Exception:  # noqa: BLE001
            dropped("traces", "sdk_error")
            await self.app(scope, receive, send)
            return
        status = [0]
        receive = errorreports.asgi_started(span, scope, receive)

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            error = exc
            raise
        finally:
            try:
                _finish(state, scope, span, method, root_path, status[0] or 500, error, started)
            except Exception:  # noqa: BLE001
                dropped("metrics", "sdk_error")
            otel_context.detach(token)


def _span_attributes(scope: Scope, method: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"http.request.method": method, "url.path": scope["path"],
                                  "url.scheme": scope.get("scheme", "http")}
    if method == "_OTHER":
        attributes["http.request.method_original"] = scope["method"]
    server = scope.get("server")
    if server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version
    return attributes


def _finish(state: Any, scope: Scope, span: RequestSpan, method: str, root_path: str, status: int,
            error: BaseException | None, started: float) -> None:
    route = asgi_route(scope, root_path)
    attributes = span.attributes
    attributes["http.route"] = route
    attributes["http.response.status_code"] = status
    span.name = f"{method} {route}"
    if error is not None:
        span.record_exception(error)
    elif status >= 500:
        span.set_error(str(status))
    errorreports.asgi_ended(span, scope, route, status, error)
    span.end()
    state.red.finished(method, route, status, time.perf_counter() - started,
                       span.context.trace_id if span.sampled else None)


async def _metrics(state: Any, scope: Scope, send: Send) -> None:
    token = state.settings.metrics_token
    headers = dict(scope["headers"])
    if token and headers.get(b"authorization", b"") != f"Bearer {token}".encode():
        await _respond(send, 401, b"metrics need Authorization: Bearer <BONGSU_METRICS_TOKEN>\n", "text/plain")
        return
    try:
        body, content_type = exposition.render(headers.get(b"accept", b"").decode("latin-1"),
                                               state.settings.multiprocess_dir)
    except Exception as exc:  # noqa: BLE001
        logger.exception("rendering /metrics failed")
        await _respond(send, 500, f"metrics unavailable: {type(exc).__name__}\n".encode(), "text/plain")
        return
    await _respond(send, 200, body, content_type)


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def instrument_asgi(app: Any) -> BongsuASGIMiddleware:
    """Wrap any ASGI app (Starlette, FastAPI, ...) with Bongsu's metrics, tracing and health endpoints."""
    if isinstance(app, BongsuASGIMiddleware):
        return app
    return BongsuASGIMiddleware(app)
