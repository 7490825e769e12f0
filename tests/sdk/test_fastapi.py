"""FastAPI 0.16x's own telemetry: with Bongsu there is exactly one server span and one duration
histogram per request. Bongsu turns FastAPI's native HTTP telemetry off on the app it wraps."""

from __future__ import annotations

from starlette.testclient import TestClient

import instrumentation
from tests.sdk.apps import fastapi_app
from tests.sdk.conftest import sample

SERVER = 2


def _server_spans(otlp, path):
    return [s for s in otlp.spans if s.kind == SERVER and s.attributes.get("url.path") == path]


def test_exactly_one_server_span_per_request(sdk, otlp, monkeypatch):
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    client = TestClient(instrumentation.instrument_asgi(fastapi_app()))
    for item in range(3):
        assert client.get(f"/items/{item}").status_code == 200
    otlp.wait_for(lambda spans: len([s for s in spans if s.kind == SERVER]) >= 3)
    instrumentation.shutdown(timeout=2)  # flushes: whatever else would have been made has arrived
    for item in range(3):
        spans = _server_spans(otlp, f"/items/{item}")
        assert len(spans) == 1, [(s.name, s.attributes) for s in spans]
        assert spans[0].name == "GET /items/{item_id}"
    assert not [s for s in otlp.spans if s.name.startswith("fastapi.")]  # no native operation spans either


def test_native_fastapi_telemetry_would_duplicate_it(sdk, otlp, monkeypatch):
    """Control: re-enabling FastAPI's native tracing under Bongsu doubles the server spans, which is
    what the test above guards against."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    app = fastapi_app()
    wrapped = instrumentation.instrument_asgi(app)
    app._telemetry.update(tracing=True)  # noqa: SLF001 - undo what instrument_asgi did
    TestClient(wrapped).get("/items/9")
    otlp.wait_for(lambda spans: len(_server_spans(otlp, "/items/9")) >= 2)


def test_one_duration_series_per_request(sdk):
    sdk()
    client = TestClient(instrumentation.instrument_asgi(fastapi_app()))
    labels = {"http_request_method": "GET", "http_route": "/items/{item_id}", "http_response_status_code": "200"}
    before = sample("http_server_request_duration_seconds_count", **labels)
    client.get("/items/1")
    assert sample("http_server_request_duration_seconds_count", **labels) == before + 1
