"""Wire-level: two real services (`orders` -> `payments`, each its own uvicorn process) export spans
over OTLP/HTTP protobuf to a receiver that decodes them, and ship logs over the Fluent forward
protocol to a receiver that decodes msgpack. Nothing of the SDK is mocked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bongsu.processes import Child, free_port
from tests.sdk.receivers import FluentReceiver, OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]
SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind


def _service(name: str, factory: str, tmp_path: Path, otlp: OtlpReceiver, fluent: FluentReceiver,
             extra_env: dict[str, str] | None = None) -> tuple[Child, str]:
    port = free_port()
    child = Child(
        name, [sys.executable, "-m", "uvicorn", f"tests.sdk.apps:{factory}", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log"],
        tmp_path / f"{name}.log", health_url=f"http://127.0.0.1:{port}/livez", cwd=ROOT,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "BONGSU_FLUENT_ADDRESS": fluent.address,
             "OTEL_BSP_SCHEDULE_DELAY": "100", "PYTHONPATH": str(ROOT), **(extra_env or {})},
    )
    return child, f"http://127.0.0.1:{port}"


@pytest.fixture
def shop(tmp_path: Path, otlp: OtlpReceiver, fluent: FluentReceiver) -> Iterator[dict[str, str]]:
    payments, payments_url = _service("payments", "payments_app", tmp_path, otlp, fluent)
    orders, orders_url = _service("orders", "orders_app", tmp_path, otlp, fluent, {"PAYMENTS_URL": payments_url})
    try:
        for child in (payments.start(), orders.start()):
            child.wait_healthy(60)
        yield {"orders": orders_url, "payments": payments_url}
    finally:
        for child in (orders, payments):
            child.stop()


def test_orders_to_payments_is_one_trace_over_otlp_and_fluent(shop, otlp, fluent):
    response = httpx.post(f"{shop['orders']}/orders/o-17", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"order_id": "o-17", "payment": "charged"}

    spans = otlp.wait_for(lambda s: {x.name for x in s} >= {"POST /orders/{order_id}", "POST /charge/{order_id}"}
                          and any(x.kind == CLIENT for x in s))
    orders_server = next(s for s in spans if s.name == "POST /orders/{order_id}")
    client = next(s for s in spans if s.kind == CLIENT and s.trace_id == orders_server.trace_id)
    payments_server = next(s for s in spans if s.name == "POST /charge/{order_id}")

    # One trace: orders server span -> its httpx client span -> payments server span.
    assert orders_server.kind == SERVER and payments_server.kind == SERVER
    assert payments_server.trace_id == orders_server.trace_id
    assert client.parent_span_id == orders_server.span_id
    assert payments_server.parent_span_id == client.span_id
    assert orders_server.parent_span_id == ""

    # Semantic-convention attributes and one shared resource per service.
    assert orders_server.attributes["http.request.method"] == "POST"
    assert orders_server.attributes["http.route"] == "/orders/{order_id}"
    assert orders_server.attributes["http.response.status_code"] == 200
    assert orders_server.attributes["url.path"] == "/orders/o-17"
    assert client.attributes["http.response.status_code"] == 200
    assert client.attributes["url.full"].endswith("/charge/o-17")
    for span, service in ((orders_server, "orders"), (client, "orders"), (payments_server, "payments")):
        assert span.resource["service.name"] == service
        assert span.resource["service.version"] == "1.2.3"
        assert span.resource["deployment.environment"] == "test"
        assert span.resource["service.instance.id"]

    # Exactly one server span per request on these FastAPI apps (FastAPI's native telemetry is off).
    assert sum(1 for s in spans if s.kind == SERVER and s.trace_id == orders_server.trace_id) == 2

    # Logs over the forward protocol carry the ids of those spans.
    records = fluent.wait_for(lambda r: {"creating order o-17", "charging order o-17"} <= {x.get("message") for x in r})
    created = next(r for r in records if r.get("message") == "creating order o-17")
    charged = next(r for r in records if r.get("message") == "charging order o-17")
    assert (created["trace_id"], created["span_id"]) == (orders_server.trace_id, orders_server.span_id)
    assert (charged["trace_id"], charged["span_id"]) == (payments_server.trace_id, payments_server.span_id)
    assert created["service.name"] == "orders" and charged["service.name"] == "payments"
    assert created["service.instance.id"] == orders_server.resource["service.instance.id"]


def test_spans_over_otlp_grpc(sdk, monkeypatch):
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the same spans reach an OTLP gRPC TraceService."""
    from starlette.testclient import TestClient

    import instrumentation
    from tests.sdk.apps import starlette_app
    from tests.sdk.receivers import GrpcOtlpReceiver

    receiver = GrpcOtlpReceiver()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        sdk(otlp_endpoint=receiver.endpoint)
        TestClient(instrumentation.instrument_asgi(starlette_app())).get("/items/3")
        spans = receiver.wait_for(lambda s: any(x.name == "GET /items/{item_id}" for x in s))
        server = next(x for x in spans if x.name == "GET /items/{item_id}")
        assert server.kind == SERVER and server.resource["service.name"] == "payments"
        assert server.attributes["http.route"] == "/items/{item_id}"
    finally:
        instrumentation.shutdown(timeout=2)
        receiver.stop()
