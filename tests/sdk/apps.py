"""Small instrumented apps for the SDK tests: a FastAPI pair `orders` -> `payments` (each run in its
own uvicorn process by the wire tests) and builders for in-process Starlette, FastAPI and Flask apps."""

from __future__ import annotations

import logging
import os

import httpx
from fastapi import FastAPI, HTTPException
from loguru import logger
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

import instrumentation


def starlette_app() -> Starlette:
    async def item(request):  # type: ignore[no-untyped-def]
        logger.info("item {}", request.path_params["item_id"])
        return JSONResponse({"id": request.path_params["item_id"]})

    async def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    async def teapot(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("teapot", status_code=418)

    async def user(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse(request.path_params["name"])

    async def raw_asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        await PlainTextResponse("raw")(scope, receive, send)

    api = Starlette(routes=[Route("/users/{name}", user)])
    return Starlette(routes=[Route("/items/{item_id:int}", item), Route("/boom", boom),
                             Route("/teapot", teapot, methods=["GET", "POST"]), Mount("/api/v1", app=api),
                             Mount("/static", app=raw_asgi)])


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        logger.info("fastapi item {}", item_id)
        return {"id": item_id}

    return app


def flask_app():  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask("flask-test")

    @app.get("/orders/<int:order_id>")
    def order(order_id: int):  # type: ignore[no-untyped-def]
        logging.getLogger("flask-test").info("flask order %s", order_id)
        return {"id": order_id}

    return app


def _payments() -> FastAPI:
    instrumentation.init(service_name="payments", service_version="1.2.3", environment="test")
    app = FastAPI()

    @app.post("/charge/{order_id}")
    async def charge(order_id: str) -> dict[str, str]:
        logger.info("charging order {}", order_id)
        return {"order_id": order_id, "status": "charged"}

    return app


def _orders() -> FastAPI:
    instrumentation.init(service_name="orders", service_version="1.2.3", environment="test")
    app = FastAPI()
    payments_url = os.environ["PAYMENTS_URL"]

    @app.post("/orders/{order_id}")
    async def create(order_id: str) -> dict[str, str]:
        logger.info("creating order {}", order_id)
        async with httpx.AsyncClient(base_url=payments_url, timeout=5) as client:  # plain httpx: no headers passed
            response = await client.post(f"/charge/{order_id}")
        if response.status_code != 200:
            raise HTTPException(502, "payments failed")
        return {"order_id": order_id, "payment": response.json()["status"]}

    return app


def payments_app() -> object:
    return instrumentation.instrument_asgi(_payments())


def orders_app() -> object:
    return instrumentation.instrument_asgi(_orders())


def _enrich(order_id: str) -> None:
    """What application code does with the current span: the whole Span API."""
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    span = trace.get_current_span()
    span.set_attribute("order.id", order_id)
    span.set_attributes({"order.items": 3, "order.tags": ["a", "b"]})
    span.add_event("order.priced", {"order.total": 12.5})
    span.add_link(trace.get_current_span().get_span_context(), {"link.kind": "self"})
    try:
        raise ValueError(f"card for jane@example.com declined on order {order_id}")
    except ValueError as error:
        span.record_exception(error)
    span.set_status(Status(StatusCode.OK))
    span.update_name("GET /enrich/{order_id} (enriched)")


def enriching_starlette_app() -> Starlette:
    async def enrich(request):  # type: ignore[no-untyped-def]
        _enrich(request.path_params["order_id"])
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/enrich/{order_id}", enrich)])


def enriching_fastapi_app(**options: object) -> FastAPI:
    app = FastAPI(**options)  # type: ignore[arg-type]

    @app.get("/enrich/{order_id}")
    async def enrich(order_id: str) -> dict[str, str]:
        _enrich(order_id)
        return {"ok": order_id}

    return app


class PaymentDeclined(Exception):
    """An application error whose `error.type` is its fully qualified name."""


def failing_app() -> object:
    """uvicorn factory: a service whose handler fails, run with uvicorn's own loggers and access log."""
    instrumentation.init(service_name="failing")

    async def boom(request):  # type: ignore[no-untyped-def]
        raise PaymentDeclined("declined for jane@example.com")

    async def ok(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("ok")

    return instrumentation.instrument_asgi(Starlette(routes=[Route("/boom", boom), Route("/ok", ok)]))


def flask_failing_app():  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask("flask-failing")

    @app.get("/divide/<int:by>")
    def divide(by: int):  # type: ignore[no-untyped-def]
        return {"result": 10 / by}

    return app


def django_app():  # type: ignore[no-untyped-def]
    """Django's WSGI handler over tests.sdk.django_urls (settings configured once per process)."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(ROOT_URLCONF="tests.sdk.django_urls", ALLOWED_HOSTS=["*"], DEBUG=False,
                           SECRET_KEY="bongsu-tests-only", MIDDLEWARE=[], INSTALLED_APPS=[])
        import django

        django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def gunicorn_wsgi():  # type: ignore[no-untyped-def]
    """gunicorn entry point (`tests.sdk.apps:gunicorn_wsgi()`): the failing Flask app, instrumented."""
    instrumentation.init(service_name="gunicorn-failing")
    return instrumentation.instrument_wsgi(flask_failing_app())
