"""FastAPI 0.16x's own telemetry beside Bongsu: exactly one server span and one duration series per
request, without touching FastAPI's private attributes. The control tests pin the FastAPI behaviour
Bongsu relies on (its native server span, and the `fastapi.telemetry` scope marker that turns it off);
they fail when a FastAPI upgrade changes it."""

from __future__ import annotations

import fastapi
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

import instrumentation
from instrumentation.fastapi_telemetry import SCOPE_KEY, VERIFIED, _version
from tests.sdk.apps import fastapi_app


def _server(memory, path):
    return [s for s in memory.get_finished_spans() if s.kind is SpanKind.SERVER and s.attributes.get("url.path") == path]


def test_exactly_one_server_span_per_request(global_memory, sdk):
    sdk()
    client = TestClient(instrumentation.instrument_asgi(fastapi_app()))
    for item in range(3):
        assert client.get(f"/items/{item}").status_code == 200
    for item in range(3):
        spans = _server(global_memory, f"/items/{item}")
        assert [(s.name, s.instrumentation_scope.name) for s in spans] == [
            ("GET /items/{item_id}", "bongsu.instrumentation")]
    assert not [s for s in global_memory.get_finished_spans() if s.instrumentation_scope.name == "fastapi"]


def test_public_telemetry_option_gives_one_span_too(global_memory, sdk):
    sdk()
    app = fastapi.FastAPI(telemetry=instrumentation.fastapi_telemetry())

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"ok": "yes"}

    TestClient(instrumentation.instrument_asgi(app)).get("/ping")
    assert [s.instrumentation_scope.name for s in _server(global_memory, "/ping")] == ["bongsu.instrumentation"]


def test_fastapi_native_span_exists_without_bongsu(global_memory, sdk):
    """Control: with a global provider FastAPI makes its own server span (what Bongsu must avoid
    doubling). If this fails, FastAPI changed and fastapi_telemetry.py needs a look."""
    sdk()
    TestClient(fastapi_app()).get("/items/5")
    assert [s.instrumentation_scope.name for s in _server(global_memory, "/items/5")] == ["fastapi"]


def test_scope_marker_turns_fastapi_native_telemetry_off(global_memory, sdk):
    """Control: the marker Bongsu sets, on its own, silences FastAPI's native span. Verified range
    of versions: fastapi_telemetry.VERIFIED."""
    sdk()
    app = fastapi_app()

    async def marked(scope, receive, send):  # type: ignore[no-untyped-def]
        scope[SCOPE_KEY] = None
        await app(scope, receive, send)

    TestClient(marked).get("/items/6")
    assert _server(global_memory, "/items/6") == []
    assert VERIFIED[0] <= _version(fastapi.__version__) < VERIFIED[1], fastapi.__version__


def test_one_duration_series_per_request():
    registry = CollectorRegistry()
    client = TestClient(instrumentation.instrument_asgi(fastapi_app(), registry=registry))
    labels = {"http_request_method": "GET", "http_route": "/items/{item_id}", "http_response_status_code": "200"}
    client.get("/items/1")
    assert registry.get_sample_value("http_server_request_duration_seconds_count", labels) == 1
