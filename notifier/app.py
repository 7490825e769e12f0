"""The HTTP face of the notifier: a Starlette app wiring the outbox, the delivery loop and Slack."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bongsu.catalog import Catalog
from notifier.delivery import Deliverer
from notifier.graph import GraphPoster
from notifier.authorization import Authorizer
from notifier.interactions import ButtonHandler
from notifier.logs import log
from notifier.metrics import Metrics
from notifier.evidence import full_report
from notifier.otlp_logs import OtlpError, parse_request
from notifier.otlp_logs import reports as otlp_logs_reports
from notifier.otlp_logs import response as otlp_logs_response
from notifier.oversize import HARD_LIMIT_BYTES, BodyTooLarge, read_body, salvage
from notifier.payload import Notification, PayloadError, parse_notification
from notifier.redaction import redact_url
from notifier.routing import channel_for
from notifier.runbooks import runbook_page
from notifier.settings import MAX_INTERACTION_BYTES, Settings
from notifier.signature import rejection
from notifier.sinks import Sink, SlackSink, TerminalSink
from notifier.store import Store
from notifier.store_url import open_store


DELIVERIES_PAGE = 5000  # entries per GET /api/deliveries page; the next page is in the Link header


class GroupCommit:
    """Coalesces concurrent webhooks into one outbox transaction: one fsync answers many requests.

    Every caller still gets its answer only after its own row is on disk.
    """

    def __init__(self, store: Store, executor: ThreadPoolExecutor, catalog: Catalog) -> None:
        self._store, self._executor, self._catalog = store, executor, catalog
        self._waiting: list[tuple[Notification, float, asyncio.Future[int | None]]] = []
        self._flushing = False

    async def accept(self, notification: Notification, received_at: float) -> int | None:
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
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


def bearer_ok(header: str | None, token: SecretStr | None) -> bool:
    if token is None or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.get_secret_value().encode())


def default_sink(settings: Settings) -> Sink:
    token = settings.slack_token
    if token is None:  # settings.offline
        return TerminalSink(settings.journal)
    return SlackSink(token.get_secret_value(), settings.slack_api_url, settings.slack_timeout)


def create_app(settings: Settings, catalog: Catalog, store: Store | None = None, sink: Sink | None = None) -> Starlette:
    store = store or open_store(settings.store or settings.state)
    sink = sink or default_sink(settings)
    metrics = Metrics()
    store_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbox")
    report_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")

    async def run(call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(store_executor, call, *args)

    graphs = GraphPoster(settings.prometheus_url) if settings.prometheus_url and not settings.offline else None
    deliverer = Deliverer(store, sink, catalog, settings, metrics, store_executor, graphs)
    intake = GroupCommit(store, store_executor, catalog)
    authorizer = Authorizer(catalog, sink.client if isinstance(sink, SlackSink) else None)
    buttons = ButtonHandler(store, settings, catalog, authorizer, sink, run, deliverer.wake)

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
            log.warning("webhook rejected: body over the hard limit", limit=HARD_LIMIT_BYTES)
            return JSONResponse({"error": f"body larger than {HARD_LIMIT_BYTES} bytes"}, 413)
        except ClientDisconnect:
            metrics.received.labels("disconnected").inc()
            return Response(status_code=400)
        try:
            if body.cut:  # a 4xx would be final for Alertmanager: keep what fits, count the rest
                notification = salvage(body)
                log.warning("webhook over the size limit; recorded as a truncated group", bytes=body.size,
                            limit=settings.max_webhook_bytes, alerts_kept=len(notification.alerts),
                            truncated_alerts=notification.truncated_alerts)
            else:
                notification = parse_notification(body.head)
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
        # A duplicate wakes too: under replicas this one may own the group's lane while another
        # replica's intake recorded the state first.
        deliverer.wake([notification.group_key])
        log.info("webhook " + outcome, group_key=notification.group_key, status=notification.status,
                 alerts=len(notification.alerts))
        return JSONResponse({"status": outcome})

    async def otlp_logs(request: Request) -> Response:
        """OTLP/HTTP error reports from the SDK (docs/recovery.md); same bearer token as the webhook."""
        if not bearer_ok(request.headers.get("authorization"), settings.webhook_token):
            log.warning("error reports rejected: missing or wrong bearer token", client=_client(request))
            return JSONResponse({"error": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"})
        try:
            read = await read_body(request, settings.max_logs_bytes, hard_limit=settings.max_logs_bytes)
            if read.cut:
                raise BodyTooLarge
            body = read.head
        except BodyTooLarge:
            log.warning("error reports rejected: body too large", limit=settings.max_logs_bytes)
            return JSONResponse({"error": f"body larger than {settings.max_logs_bytes} bytes"}, 413)
        except ClientDisconnect:
            return Response(status_code=400)
        content_type = request.headers.get("content-type", "")
        try:
            found, rejected = otlp_logs_reports(parse_request(body, content_type))
        except OtlpError as exc:
            log.warning("error reports rejected: malformed", detail=str(exc)[:300])
            status = 415 if str(exc).startswith("unsupported Content-Type") else 400
            return JSONResponse({"error": str(exc)}, status)
        if found:
            try:
                await run(store.add_reports, found)
            except Exception as exc:  # noqa: BLE001 - the SDK retries on 5xx
                log.error("error reports not stored", error=type(exc).__name__)
                return JSONResponse({"error": "could not store the reports; retry"}, 503)
            log.info("error reports stored", count=len(found), service=found[0].service)
        payload, media_type = otlp_logs_response(content_type, rejected)
        return Response(payload, media_type=media_type)

    async def interactions(request: Request) -> Response:
        try:
            read = await read_body(request, MAX_INTERACTION_BYTES, hard_limit=MAX_INTERACTION_BYTES)
        except BodyTooLarge:
            return JSONResponse({"error": "body too large"}, 413)
        if read.cut:
            return JSONResponse({"error": "body too large"}, 413)
        body = read.head
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
        # Slack wants an answer within 3 s: answer now, check and act right after.
        return Response(status_code=200, background=BackgroundTask(buttons.handle, payload))

    async def deliveries(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), settings.webhook_token):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401,
                                headers={"WWW-Authenticate": "Bearer"})
        everything = request.query_params.get("all", "") in {"1", "true"}
        try:
            after = int(request.query_params.get("after", "0"))
            limit = int(request.query_params.get("limit", str(DELIVERIES_PAGE)))
            if after < 0 or not 0 < limit <= DELIVERIES_PAGE:
                raise ValueError
        except ValueError:
            return JSONResponse({"error": f"`after` is an entry id (>= 0) and `limit` 1..{DELIVERIES_PAGE}"}, 400)
        # Its own thread: a report never waits behind (or delays) the outbox writes intake needs.
        page = await asyncio.get_running_loop().run_in_executor(report_executor, store.deliveries, everything,
                                                                after, limit)
        headers = {}
        if len(page) == limit:
            query = urlencode({**({"all": "1"} if everything else {}), "after": page[-1]["id"], "limit": limit})
            headers["Link"] = f'</api/deliveries?{query}>; rel="next"'
        return JSONResponse(page, headers=headers)

    async def error_reports(request: Request) -> Response:
        """The most frequent error reports of `?service=` in the last `?seconds=` (default 3600)."""
        if not bearer_ok(request.headers.get("authorization"), settings.webhook_token):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"})
        service = request.query_params.get("service", "")
        try:
            seconds = float(request.query_params.get("seconds", "3600"))
        except ValueError:
            return JSONResponse({"error": "seconds must be a number"}, 400)
        now = time.time()
        tops = await run(store.top_reports, service, now - seconds, now, 10)
        return JSONResponse([{**full_report(top), "first_seen": top.first_seen, "last_seen": top.last_seen}
                             for top in tops])

    async def rollbacks(request: Request) -> Response:
        """Every rollback record (who, when, from, to, outcome), for post-mortems (docs/recovery.md)."""
        if not bearer_ok(request.headers.get("authorization"), settings.webhook_token):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse([asdict(record) for record in await run(store.rollbacks)])

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
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(deliverer.run())
        mode = "offline (terminal + notifications.jsonl)" if settings.offline else "Slack"
        log.info("notifier started", mode=mode,
                 store=redact_url(settings.store) if settings.store else f"sqlite:{settings.state}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):  # hand the lanes over now rather than at lease expiry
                await run(store.release_lanes)
            store_executor.shutdown(wait=True)
            report_executor.shutdown(wait=True)
            store.close()

    app = Starlette(routes=[
        Route("/alertmanager", alertmanager, methods=["POST"]),
        Route("/slack/interactions", interactions, methods=["POST"]),
        Route("/v1/logs", otlp_logs, methods=["POST"]),
        Route("/api/error-reports", error_reports, methods=["GET"]),
        Route("/api/rollbacks", rollbacks, methods=["GET"]),
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
