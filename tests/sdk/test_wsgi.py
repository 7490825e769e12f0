"""Flask through the WSGI middleware: route templates, spans, log correlation."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from werkzeug.test import Client

import instrumentation
from tests.sdk.apps import flask_app
from tests.sdk.conftest import sample

H = "http_server_request_duration_seconds_count"


def test_flask_routes_spans_and_logs(sdk, otlp, monkeypatch):
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    handle = sdk(otlp_endpoint=otlp.endpoint)
    app = flask_app()
    app.wsgi_app = instrumentation.instrument_wsgi(app.wsgi_app)
    client = Client(app)
    labels = {"http_request_method": "GET", "http_route": "/orders/<int:order_id>", "http_response_status_code": "200"}
    missing = {"http_request_method": "GET", "http_route": "unmatched", "http_response_status_code": "404"}
    before, before_missing = sample(H, **labels), sample(H, **missing)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    # The middleware finishes when the server closes the body (PEP 3333); werkzeug's test client
    # closes lazily, so close explicitly as a server does after sending.
    response = client.get("/orders/12", headers={"traceparent": traceparent})
    assert response.status_code == 200 and response.json == {"id": 12}
    response.close()
    missing_response = client.get("/nothing/here")
    assert missing_response.status_code == 404
    missing_response.close()
    assert sample(H, **labels) == before + 1
    assert sample(H, **missing) == before_missing + 1
    spans = otlp.wait_for(lambda s: any(x.name == "GET /orders/<int:order_id>" for x in s))
    span = next(x for x in spans if x.name == "GET /orders/<int:order_id>")
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"  # continued the caller's trace
    assert span.parent_span_id == "b7ad6b7169203331"
    assert span.attributes["http.response.status_code"] == 200
    line = next(x for x in handle.lines() if x["message"] == "flask order 12")
    assert (line["trace_id"], line["span_id"]) == (span.trace_id, span.span_id)


def test_app_exceptions_pass_through_and_are_measured():
    def broken(environ, start_response):
        raise KeyError("app bug")

    registry = CollectorRegistry()  # injected: no process-wide re-initialisation
    client = Client(instrumentation.instrument_wsgi(broken, registry=registry))
    labels = {"http_request_method": "GET", "http_route": "unmatched", "http_response_status_code": "500"}
    try:
        client.get("/x")
    except KeyError as exc:
        assert exc.args == ("app bug",)
    else:
        raise AssertionError("the application's exception must reach the server unchanged")
    assert registry.get_sample_value(H, labels) == 1
