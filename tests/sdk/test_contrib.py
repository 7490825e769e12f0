"""OpenTelemetry contrib instrumentations beside Bongsu: opentelemetry-instrumentation-httpx and
-sqlalchemy (on SQLite) make their spans as children of Bongsu's server span, on the OTLP wire;
Bongsu's own httpx hook steps aside, so there is one client span and one traceparent per call."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import instrumentation

SERVER, CLIENT = 2, 3


def _url(span) -> str:  # type: ignore[no-untyped-def]
    """The contrib httpx instrumentation still writes the old `http.url` by default; Bongsu `url.full`."""
    return str(span.attributes.get("url.full") or span.attributes.get("http.url") or "")


@pytest.fixture
def contrib(tmp_path) -> Iterator[sqlalchemy.Engine]:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE orders (id TEXT PRIMARY KEY, total REAL)"))
    HTTPXClientInstrumentor().instrument()
    SQLAlchemyInstrumentor().instrument(engine=engine)
    try:
        yield engine
    finally:
        HTTPXClientInstrumentor().uninstrument()
        SQLAlchemyInstrumentor().uninstrument()
        engine.dispose()


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_httpx_and_database_spans_are_children_on_the_wire(client_kind, sdk, otlp, echo, contrib,
                                                          monkeypatch):
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    url, headers = echo
    engine = contrib

    async def order(request):  # type: ignore[no-untyped-def]
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("INSERT INTO orders VALUES (:id, 9.5)"), {"id": request.path_params["id"]})
        if client_kind == "sync":
            with httpx.Client() as client:
                client.get(f"{url}/stock")
        else:
            async with httpx.AsyncClient() as client:
                await client.get(f"{url}/stock")
        return JSONResponse({"ok": True})

    app = instrumentation.instrument_asgi(Starlette(routes=[Route("/orders/{id}", order, methods=["POST"])]))
    assert TestClient(app).post("/orders/o-1").status_code == 200

    spans = otlp.wait_for(lambda s: any(x.name == "POST /orders/{id}" for x in s)
                          and any(x.scope.startswith("opentelemetry.instrumentation.sqlalchemy") for x in s)
                          and any(_url(x).endswith("/stock") for x in s))
    server = next(s for s in spans if s.name == "POST /orders/{id}")
    in_trace = [s for s in spans if s.trace_id == server.trace_id and s is not server]
    http_clients = [s for s in in_trace if s.kind == CLIENT and _url(s).endswith("/stock")]
    database = [s for s in in_trace if s.scope.startswith("opentelemetry.instrumentation.sqlalchemy")]

    assert [s.scope for s in http_clients] == ["opentelemetry.instrumentation.httpx"]  # one, not Bongsu's too
    assert http_clients[0].parent_span_id == server.span_id
    assert database and all(s.parent_span_id == server.span_id for s in database)
    assert any("INSERT" in s.name or "INSERT" in str(s.attributes.get("db.statement", "")) for s in database)
    # The downstream service got one traceparent, naming the contrib client span as its parent.
    seen = [h.get("traceparent", "") for h in headers]
    assert [header[:-3] for header in seen] == [f"00-{server.trace_id}-{http_clients[0].span_id}"]
    assert int(seen[0][-2:], 16) & 1  # sampled


def test_bongsu_hook_propagates_when_no_contrib_instrumentation(sdk, otlp, echo, monkeypatch):
    """Control for the test above: without the contrib package active, Bongsu's own hook makes the
    client span and the traceparent."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    url, headers = echo

    async def order(request):  # type: ignore[no-untyped-def]
        with httpx.Client() as client:
            client.get(f"{url}/stock")
        return JSONResponse({"ok": True})

    app = instrumentation.instrument_asgi(Starlette(routes=[Route("/orders", order)]))
    TestClient(app).get("/orders")
    spans = otlp.wait_for(lambda s: any(_url(x).endswith("/stock") for x in s))
    client = next(x for x in spans if _url(x).endswith("/stock"))
    assert client.scope == "bongsu.instrumentation"
    assert [h.get("traceparent", "")[:-3] for h in headers] == [f"00-{client.trace_id}-{client.span_id}"]
