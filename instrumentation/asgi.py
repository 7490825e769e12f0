"""ASGI middleware: one server span, RED metrics and the health/metrics endpoints per app.

Pure ASGI (no BaseHTTPMiddleware), so the per-request cost is a span, a histogram observation and
a few dict lookups. Every telemetry step is guarded: an SDK failure is counted, never raised into the
application, and the application's own exceptions pass through unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from loguru import logger
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue
from prometheus_client import CollectorRegistry

from instrumentation import buildinfo, errorreports, exposition, health, lifecycle
from instrumentation import fastapi_telemetry
from instrumentation.guard import LabelGuard
from instrumentation.lifecycle import State
from instrumentation.propagation import extract_asgi
from instrumentation.red import RedMetrics, method_label
from instrumentation.routes import asgi_route, starlette_route_before
from instrumentation.selfmetrics import dropped
from instrumentation.serverspan import ServerSpans

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Telemetry:
    """What one middleware records into: the process's globals, or the registry and provider
    given to `instrument_asgi`/`instrument_wsgi` (tests, several apps in one process)."""

    def __init__(self, registry: CollectorRegistry | None, tracer_provider: trace.TracerProvider | None) -> None:
        self.registry = registry
        self.tracer_provider = tracer_provider
        self._spans: ServerSpans | None = None
        self._red: RedMetrics | None = None
        self._exceptions: LabelGuard | None = None

    def spans(self, state: State) -> ServerSpans:
        if self.tracer_provider is None:
            return state.spans
        if self._spans is None:
            self._spans = ServerSpans(self.tracer_provider, state.spans.redactor)
            errorreports.breadcrumbs_from(self.tracer_provider)  # its client spans, too, are breadcrumbs
        return self._spans

    def red(self, state: State) -> RedMetrics:
        if self.registry is None:
            return state.red
        if self._red is None:
            settings = state.settings
            self._red = RedMetrics(settings.buckets, settings.max_series, settings.exemplars, self.registry)
            self._exceptions = errorreports.exceptions_in(self.registry, settings.max_series)
            buildinfo.expose_in(self.registry)  # its /metrics carries the deploy marker too
        return self._red

    def exceptions(self) -> LabelGuard | None:
        """`bongsu_exceptions_total` of the injected registry (made by `red()`); None: the global one."""
        return self._exceptions


class BongsuASGIMiddleware:
    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry | None = None,
                 tracer_provider: trace.TracerProvider | None = None) -> None:
        self.app = app
        self.telemetry = Telemetry(registry, tracer_provider)
        self.mark_fastapi = fastapi_telemetry.cooperate_with_fastapi(app)

    def __getattr__(self, name: str) -> Any:
        # `app.state`, `app.include_router(...)` and friends keep working on the wrapped app.
        if name == "app":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.mark_fastapi:
            fastapi_telemetry.mark(scope)
        state = lifecycle.current()
        path = scope["path"]
        if path in state.settings.excluded_paths:
            if path == "/metrics":
                await _metrics(state, self.telemetry.registry, scope, send)
            elif path == "/livez":
                await _respond(send, *health.liveness(state.identity), health.CONTENT_TYPE)
            elif path == "/readyz":
                await _respond(send, *(await health.readiness_async(state.identity)), health.CONTENT_TYPE)
            else:
                await self.app(scope, receive, send)
            return
        await self._traced(state, scope, receive, send)

    async def _traced(self, state: State, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            spans = self.telemetry.spans(state)
            red = self.telemetry.red(state)
            method = method_label(scope["method"])
            root_path = scope.get("root_path", "")
            parent = extract_asgi(scope["headers"])
            name = method if method != "_OTHER" else "HTTP"
            if spans.sampler_reads_name():
                route_before = starlette_route_before(self.app, scope)
                if route_before is not None:
                    name = f"{name} {route_before}"
            span = spans.start(parent, name, _span_attributes(scope, method, spans))
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            red.started(method)
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped("traces", "sdk_error")
            await self.app(scope, receive, send)
            return
        status = [0]
        receive = errorreports.asgi_started(span, scope, receive)

        async def send_wrapper(message: Message) -> None:
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
                _finish(spans, red, self.telemetry.exceptions(), scope, span, method, root_path, status[0], error,
                        started)
            except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
                dropped("metrics", "sdk_error")
            otel_context.detach(token)


def _finish(spans: ServerSpans, red: RedMetrics, exceptions: LabelGuard | None, scope: Scope, span: Span,
            method: str, root_path: str, status: int, error: BaseException | None, started: float) -> None:
    route = asgi_route(scope, root_path)
    # Cancelled before any response (the client went away, the server is stopping): no status code
    # and no error, so it burns no error budget (and makes no error report).
    cancelled = isinstance(error, asyncio.CancelledError) and not status
    code = None if cancelled else status or 500
    cause = errorreports.asgi_ended(span, scope, route, code, error, exceptions)
    spans.finish(span, method, route, code, error if error is not None else cause, cancelled)
    context = span.get_span_context()
    red.finished(method, route, code, time.perf_counter() - started,
                 context.trace_id if context.trace_flags.sampled else None)


def _span_attributes(scope: Scope, method: str, spans: ServerSpans) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {"http.request.method": method, "url.path": scope["path"],
                                             "url.scheme": scope.get("scheme", "http")}
    if method == "_OTHER":
        attributes["http.request.method_original"] = scope["method"]
    host = user_agent = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
    server = scope.get("server")
    if host:
        address, _, port = host.rpartition(":") if host.rpartition(":")[2].isdigit() else (host, "", "")
        attributes["server.address"] = address.strip("[]")
        if port:
            attributes["server.port"] = int(port)
    elif server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    if user_agent:
        attributes["user_agent.original"] = user_agent
    query = scope.get("query_string")
    if query:
        text = query.decode("latin-1")
        attributes["url.query"] = spans.redactor(text) if spans.redactor else text
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version
    return attributes


async def _metrics(state: State, registry: CollectorRegistry | None, scope: Scope, send: Send) -> None:
    token = state.settings.metrics_token
    headers = dict(scope["headers"])
    if token and headers.get(b"authorization", b"") != f"Bearer {token}".encode():
        await _respond(send, 401, b"metrics need Authorization: Bearer <BONGSU_METRICS_TOKEN>\n", "text/plain")
        return
    try:
        accept = headers.get(b"accept", b"").decode("latin-1")
        body, content_type = (exposition.render(accept, state.settings.multiprocess_dir) if registry is None
                              else exposition.render(accept, None, registry))
    except Exception as exc:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
        logger.exception("rendering /metrics failed")
        await _respond(send, 500, f"metrics unavailable: {type(exc).__name__}\n".encode(), "text/plain")
        return
    await _respond(send, 200, body, content_type)


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def instrument_asgi(app: ASGIApp, *, registry: CollectorRegistry | None = None,
                    tracer_provider: trace.TracerProvider | None = None) -> BongsuASGIMiddleware:
    """Wrap any ASGI app (Starlette, FastAPI, ...) with Bongsu's metrics, tracing and health endpoints.

    `registry` (a prometheus_client CollectorRegistry) and `tracer_provider` default to the process's
    globals that `init()` set up; pass them to record one app somewhere else."""
    if isinstance(app, BongsuASGIMiddleware):
        return app
    return BongsuASGIMiddleware(app, registry=registry, tracer_provider=tracer_provider)
