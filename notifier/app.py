"""The HTTP face of the notifier: a Starlette app wiring the outbox, the delivery loop and Slack."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bongsu.catalog import Catalog
from notifier.delivery import Deliverer
from notifier.graph import GraphPoster
from notifier.interactions import handle_actions, run_in
from notifier.logs import log
from notifier.metrics import Metrics
from notifier.payload import Notification, PayloadError, parse_notification
from notifier.routing import channel_for
from notifier.runbooks import runbook_page
from notifier.settings import MAX_INTERACTION_BYTES, Settings
from notifier.signature import rejection
from notifier.sinks import Sink, SlackSink, TerminalSink
from notifier.store import Store


class BodyTooLarge(Exception):
    pass


class GroupCommit:
    """Coalesces concurrent webhooks into one outbox transaction: one fsync answers many requests.

    Every caller still gets its answer only after its own row is on disk.
    """

    def __init__(self, store: Store, executor: ThreadPoolExecutor, catalog: Catalog) -> None:
        self._store, self._executor, self._catalog = store, executor, catalog
        self._waiting: list[tuple[Notification, float, asyncio.Future]] = []
        self._flushing = False

    async def accept(self, notification: Notification, received_at: float) -> int | None:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((notification, received_at, future))
        if not self._flushing:
            self._flushing = True
            asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    ids = await loop.run_in_executor(self._executor, self._store.accept_many,
                                                     [(n, channel_for(n, self._catalog), at) for n, at, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiter learns it was not recorded
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, _, future), row_id in zip(batch, ids):
                        if not future.done():
                            future.set_result(row_id)
        finally:
            self._flushing = False


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLarge as soon as it passes `limit` (never read whole into memory)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def bearer_ok(header: str | None, token: SecretStr | None) -> bool:
    if token is None or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.get_secret_value().encode())


def default_sink(settings: Settings) -> Sink:
    if settings.offline:
        return TerminalSink(settings.journal)
    return SlackSink(settings.slack_token.get_secret_value(), settings.slack_api_url, settings.slack_timeout)


def create_app(settings: Settings, catalog: Catalog, store: Store | None = None, sink: Sink | None = None) -> Starlette:
    store = store or Store(settings.state)
    sink = sink or default_sink(settings)
    metrics = Metrics()
    store_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
    run = run_in(store_executor)
    graphs = GraphPoster(settings.prometheus_url) if settings.prometheus_url and not settings.offline else None
    deliverer = Deliverer(store, sink, catalog, settings, metrics, store_executor, graphs)
    intake = GroupCommit(store, store_executor, catalog)

    async def alertmanager(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), settings.webhook_token):
            metrics.received.labels("unauthorized").inc()
            log.warning("webhook rejected: missing or wrong bearer token", client=_client(request))
            return JSONResponse({"error": "missing or wrong bearer token"}, 401,
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            body = await read_body(request, settings.max_webhook_bytes)
        except BodyTooLarge:
            metrics.received.labels("too_large").inc()
            log.warning("webhook rejected: body too large", limit=settings.max_webhook_bytes)
            return JSONResponse({"error": f"body larger than {settings.max_webhook_bytes} bytes"}, 413)
        except ClientDisconnect:
            metrics.received.labels("disconnected").inc()
            return Response(status_code=400)
        try:
            notification = parse_notification(body)
        except PayloadError as exc:
            metrics.received.labels("malformed").inc()
            log.warning("webhook rejected: malformed", detail=str(exc)[:500])
            return JSONResponse({"error": str(exc)}, 400)
        try:
            accepted = await intake.accept(notification, time.time())
        except Exception as exc:  # noqa: BLE001 - any storage failure: say 5xx so Alertmanager retries
            metrics.received.labels("store_error").inc()
            log.error("webhook not recorded; answering 503 so Alertmanager retries", error=type(exc).__name__,
                      detail=str(exc)[:200])
            return JSONResponse({"error": "could not record the notification; retry"}, 503)
        outcome = "accepted" if accepted is not None else "duplicate"
        metrics.received.labels(outcome).inc()
        if accepted is not None:
            deliverer.wake([notification.group_key])
        log.info("webhook " + outcome, group_key=notification.group_key, status=notification.status,
                 alerts=len(notification.alerts))
        return JSONResponse({"status": outcome})

    async def interactions(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_INTERACTION_BYTES)
        except BodyTooLarge:
            return JSONResponse({"error": "body too large"}, 413)
        reason = rejection(settings.signing_secret.get_secret_value() if settings.signing_secret else None,
                           request.headers.get("x-slack-request-timestamp"),
                           request.headers.get("x-slack-signature"), body)
        if reason:
            log.warning("Slack interaction rejected", reason=reason, client=_client(request))
            return JSONResponse({"error": "invalid signature"}, 401)
        try:
            payload = json.loads(parse_qs(body.decode())["payload"][0])
            if not isinstance(payload, dict):
                raise ValueError("payload is not an object")
        except (KeyError, IndexError, ValueError, UnicodeDecodeError) as exc:
            log.warning("Slack interaction malformed", detail=str(exc)[:200])
            return JSONResponse({"error": "expected a form field `payload` holding a JSON object"}, 400)
        await handle_actions(payload, store, settings, run, deliverer.wake)
        return Response(status_code=200)

    async def deliveries(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), settings.webhook_token):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401,
                                headers={"WWW-Authenticate": "Bearer"})
        everything = request.query_params.get("all", "") in {"1", "true"}
        return JSONResponse(await run(store.deliveries, everything))

    async def metrics_endpoint(request: Request) -> Response:
        metrics.queue_depth.set(await run(store.queue_depth))
        return Response(metrics.exposition(), media_type=metrics.content_type)

    async def runbook(request: Request) -> Response:
        """A runbook from the repository (public documentation, read-only): what alert links open."""
        page = await asyncio.to_thread(runbook_page, settings.runbooks_dir, request.path_params["filename"])
        if page is None:
            return PlainTextResponse("no such runbook", 404)
        return HTMLResponse(page)

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "pass"})

    async def readyz(request: Request) -> Response:
        checks = {"outbox": await run(store.writable), "delivery_loop": deliverer.running}
        ok = all(checks.values())
        return JSONResponse({"status": "pass" if ok else "fail", "checks": checks}, 200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        task = asyncio.create_task(deliverer.run())
        mode = "offline (terminal + notifications.jsonl)" if settings.offline else "Slack"
        log.info("notifier started", mode=mode, state=str(settings.state))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            store_executor.shutdown(wait=True)
            store.close()

    app = Starlette(routes=[
        Route("/alertmanager", alertmanager, methods=["POST"]),
        Route("/slack/interactions", interactions, methods=["POST"]),
        Route("/api/deliveries", deliveries, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/runbooks/{filename}", runbook, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.deliverer = deliverer
    app.state.store = store
    app.state.metrics = metrics
    return app


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "?"
