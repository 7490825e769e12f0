"""Error reports at the wire: a real OTLP/HTTP receiver decodes the protobuf with opentelemetry-proto
and every field is asserted; breadcrumbs hold the handler's log records and its real outgoing httpx
and requests calls; PII is redacted in URL, query, headers, body and message; a dead receiver never
breaks a request; ASGI (Starlette) and WSGI (Flask, which catches and logs the exception itself)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from loguru import logger
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import instrumentation
from instrumentation.errors import ConfigError
from tests.sdk.conftest import sample
from tests.sdk.receivers import BlackHole, closed_port

THIS_FILE = "tests/sdk/test_error_reports.py"
REPORT_ENV = ("BONGSU_ERROR_REPORTS_URL", "BONGSU_ERROR_REPORTS_TOKEN", "BONGSU_ERROR_REPORTS_INTERVAL",
              "OTEL_SERVICE_VERSION", "BONGSU_BUILD_REVISION", "BONGSU_BUILD_PACKAGE")
TOKEN = "reports-token-1"


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class Receiver:
    """OTLP/HTTP logs and traces, decoded with opentelemetry-proto; plus `GET /upstream`, the
    service the handlers call."""

    def __init__(self) -> None:
        self.logs: list[tuple[dict[str, str], ExportLogsServiceRequest]] = []
        self.traces: list[ExportTraceServiceRequest] = []
        self.upstream_calls = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                with receiver._lock:
                    receiver.upstream_calls += 1
                self._answer(200, b"upstream ok", "text/plain")

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Type") != "application/x-protobuf":
                    self._answer(415, b"", "text/plain")
                    return
                with receiver._lock:
                    if self.path == "/v1/logs":
                        request = ExportLogsServiceRequest()
                        request.ParseFromString(body)
                        receiver.logs.append((dict(self.headers), request))
                    elif self.path == "/v1/traces":
                        traces = ExportTraceServiceRequest()
                        traces.ParseFromString(body)
                        receiver.traces.append(traces)
                    else:
                        self._answer(404, b"", "text/plain")
                        return
                self._answer(200, b"", "application/x-protobuf")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/v1/logs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def records(self) -> list[tuple[dict[str, str], dict[str, Any], Any]]:
        """(headers, resource attributes, LogRecord) for every record received."""
        with self._lock:
            received = list(self.logs)
        out = []
        for headers, request in received:
            for resource_logs in request.resource_logs:
                resource = {a.key: _value(a.value) for a in resource_logs.resource.attributes}
                for scope_logs in resource_logs.scope_logs:
                    assert scope_logs.scope.name == "bongsu.instrumentation.errorreports"
                    out.extend((headers, resource, record) for record in scope_logs.log_records)
        return out

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[dict[str, str], dict[str, Any], Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = self.records()
            if len(records) >= count:
                return records
            time.sleep(0.05)
        raise AssertionError(f"receiver: wanted {count} log records within {timeout}s, got {len(records)}: "
                             f"{[r.body.string_value for _, _, r in records]}")

    def server_spans(self) -> list[Any]:
        with self._lock:
            return [span for request in self.traces for rs in request.resource_spans for ss in rs.scope_spans
                    for span in ss.spans if span.kind == 2]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REPORT_ENV:
        monkeypatch.delenv(name, raising=False)


def _attributes(record: Any) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in record.attributes}


def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line and "_line_of" not in line)


# --- the apps: the handlers are the app's own code (in-app); json, httpx, starlette are not --------
def parse_fee(raw: str) -> Any:
    return json.loads(raw)  # CULPRIT-JSON


async def checkout(request: Request) -> PlainTextResponse:
    body = await request.body()
    logger.info("charging customer alice@example.com for order {}", request.path_params["order_id"])
    async with httpx.AsyncClient(timeout=5) as client:
        upstream = await client.get(request.app.state.upstream + "/upstream?api_key=k-123")
    logger.warning("upstream said {}", upstream.text)
    parse_fee("{not json: " + body.decode()[:5])
    return PlainTextResponse("unreachable")


async def refund(request: Request) -> PlainTextResponse:
    await request.body()  # the excerpt holds what the app read
    raise ValueError("no refund for carol@example.com, card 4111 1111 1111 1111")  # CULPRIT-VALUE


async def unavailable(request: Request) -> PlainTextResponse:
    return PlainTextResponse("maintenance", status_code=503)


def starlette_shop(upstream: str) -> Any:
    app = Starlette(routes=[Route("/checkout/{order_id}", checkout, methods=["POST"]),
                            Route("/refund", refund, methods=["POST"]), Route("/unavailable", unavailable),
                            Route("/ok", lambda request: PlainTextResponse("ok"))])
    app.state.upstream = upstream
    return instrumentation.instrument_asgi(app)


def flask_shop(upstream: str) -> Any:
    from flask import Flask
    from flask import request as flask_request

    app = Flask("error-reports-test")

    @app.post("/invoices/<int:invoice_id>")
    def invoice(invoice_id: int) -> str:
        form = flask_request.form.to_dict()
        requests.get(upstream + "/upstream", timeout=5)
        logger.info("invoice {} for {}", invoice_id, form.get("email"))
        return str(1 / (invoice_id - invoice_id))  # CULPRIT-FLASK

    app.wsgi_app = instrumentation.instrument_wsgi(app.wsgi_app)
    return app


# --- tests ------------------------------------------------------------------------------------
def test_asgi_report_at_the_wire_field_by_field(sdk, receiver):
    handle = sdk(service_version="1.5.0", revision="abc1234def567", build_package="payments==1.5.0",
                 otlp_endpoint=receiver.base, error_reports_url=receiver.url, error_reports_token=TOKEN)
    client = TestClient(starlette_shop(receiver.base), raise_server_exceptions=False)
    response = client.post(
        "/checkout/o-17?email=bob@example.com&token=t-secret&page=2",
        content=json.dumps({"card": "4111 1111 1111 1111", "password": "hunter2", "email": "dave@example.com",
                            "note": "gift"}),
        headers={"Authorization": "Bearer user-secret", "Cookie": "session=s-secret", "User-Agent": "shop-tests/1",
                 "X-Request-Id": "req-42", "Content-Type": "application/json"})
    assert response.status_code == 500
    assert receiver.upstream_calls == 1

    headers, resource, record = receiver.wait_for(1)[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert resource["service.name"] == "payments"
    assert resource["service.version"] == "1.5.0"
    assert resource["vcs.ref.head.revision"] == "abc1234def567"
    assert resource["bongsu.build.package"] == "payments==1.5.0"
    assert resource["service.instance.id"]

    charging = next(line for line in handle.lines() if line["message"].startswith("charging customer"))
    assert record.trace_id.hex() == charging["trace_id"]
    assert record.span_id.hex() == charging["span_id"]
    assert record.flags == int(charging["trace_flags"], 16)
    assert record.severity_number == 17 and record.severity_text == "ERROR"
    assert record.event_name == "exception"
    assert record.time_unix_nano > 0 and record.observed_time_unix_nano >= record.time_unix_nano

    attributes = _attributes(record)
    culprit_line = _line_of("# CULPRIT-JSON")
    assert attributes["exception.type"] == "json.decoder.JSONDecodeError"
    assert attributes["exception.message"].startswith("Expecting property name enclosed in double quotes")
    assert attributes["exception.stacktrace"].startswith("Traceback (most recent call last):")
    assert attributes["code.function.name"] == "parse_fee"
    assert attributes["code.file.path"] == THIS_FILE
    assert attributes["code.line.number"] == culprit_line
    assert attributes["code.line.source"] == "return json.loads(raw)  # CULPRIT-JSON"
    assert record.body.string_value == (f"json.decoder.JSONDecodeError: {attributes['exception.message']} "
                                        f"at {THIS_FILE}:{culprit_line} in parse_fee")
    assert attributes["url.full"] == "http://testserver/checkout/o-17?email=[REDACTED]&token=REDACTED&page=2"
    assert attributes["url.path"] == "/checkout/o-17"
    assert attributes["http.request.method"] == "POST"
    assert attributes["http.route"] == "/checkout/{order_id}"
    assert attributes["http.response.status_code"] == 500
    assert attributes["bongsu.error.count"] == 1
    fingerprint = attributes["bongsu.error.fingerprint"]
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0

    frames = json.loads(attributes["bongsu.error.frames"])
    assert [f for f in frames if f["culprit"]] == [{"file": THIS_FILE, "line": culprit_line, "function": "parse_fee",
                                                    "source": "return json.loads(raw)  # CULPRIT-JSON",
                                                    "in_app": True, "culprit": True}]
    assert [f["function"] for f in frames if f["in_app"]] == ["checkout", "parse_fee"]
    assert frames[-1]["file"] == "json/decoder.py" and not frames[-1]["in_app"]  # innermost: the library
    assert any(f["file"].startswith("starlette/") and not f["in_app"] for f in frames)
    assert all(not f["in_app"] for f in frames if "instrumentation" in f["file"])

    # In order: our log line, the httpx call (its client span), httpx's own INFO line, our warning.
    crumbs = json.loads(attributes["bongsu.error.breadcrumbs"])[:4]
    assert [(c["type"], c.get("logger")) for c in crumbs] == [
        ("log", "tests.sdk.test_error_reports"), ("http", None), ("log", "httpx"),
        ("log", "tests.sdk.test_error_reports")]
    assert crumbs[0]["message"] == "charging customer [REDACTED] for order o-17"
    assert crumbs[0]["level"] == "INFO"
    assert crumbs[1]["method"] == "GET" and crumbs[1]["status_code"] == 200
    assert crumbs[1]["url"] == f"{receiver.base}/upstream"  # client spans keep no query
    assert crumbs[2]["message"] == f'HTTP Request: GET {receiver.base}/upstream?api_key=REDACTED "HTTP/1.0 200 OK"'
    assert crumbs[3]["message"] == "upstream said upstream ok" and crumbs[3]["level"] == "WARNING"

    data = json.loads(attributes["bongsu.error.request"])
    assert data["query"] == {"email": "[REDACTED]", "token": "REDACTED", "page": "2"}
    assert data["headers"]["user-agent"] == "shop-tests/1"
    assert data["headers"]["x-request-id"] == "req-42"
    assert "authorization" not in data["headers"] and "cookie" not in data["headers"]
    assert json.loads(data["body"]) == {"card": "[REDACTED]", "password": "REDACTED", "email": "[REDACTED]",
                                        "note": "gift"}
    assert data["body_truncated"] is False
    wire = b"".join(request.SerializeToString() for _, request in receiver.logs)
    for secret in (b"hunter2", b"4111", b"example.com", b"t-secret", b"user-secret", b"s-secret", b"k-123"):
        assert secret not in wire, secret

    # The same report as one JSON log line, in the request's trace.
    line = next(x for x in handle.lines() if x["message"].startswith("error report: "))
    assert line["level"] == "ERROR" and line["trace_id"] == charging["trace_id"]
    assert line["bongsu.error.fingerprint"] == fingerprint
    assert line["code.line.number"] == culprit_line and line["bongsu.error.frames"] == frames
    assert line["vcs.ref.head.revision"] == "abc1234def567" and line["service.version"] == "1.5.0"

    # On the server span: the semantic-convention exception event.
    instrumentation.shutdown(timeout=5)
    span = next(s for s in receiver.server_spans() if s.trace_id.hex() == charging["trace_id"])
    event = next(e for e in span.events if e.name == "exception")
    assert {a.key: _value(a.value) for a in event.attributes}["exception.type"] == "JSONDecodeError"

    assert sample("bongsu_exceptions_total", exception_type="json.decoder.JSONDecodeError",
                  code_function="parse_fee", code_filepath=THIS_FILE, code_lineno=str(culprit_line)) == 1


def test_pii_in_the_exception_message_and_a_plain_5xx(sdk, receiver):
    sdk(error_reports_url=receiver.url)
    client = TestClient(starlette_shop(receiver.base), raise_server_exceptions=False)
    assert client.post("/refund", data={"password": "pw-1", "user": "erin@example.com"}).status_code == 500
    assert client.get("/unavailable?auth_code=zz").status_code == 503
    assert client.get("/ok").status_code == 200  # no report
    records = receiver.wait_for(2)
    by_type = {_attributes(r)["exception.type"]: _attributes(r) for _, _, r in records}
    assert set(by_type) == {"ValueError", "HTTP 503"}

    refund_report = by_type["ValueError"]
    assert refund_report["exception.message"] == "no refund for [REDACTED], card [REDACTED]"
    assert "carol@" not in refund_report["exception.stacktrace"]
    assert refund_report["code.line.number"] == _line_of("# CULPRIT-VALUE")
    assert json.loads(refund_report["bongsu.error.request"])["body"] == "password=REDACTED&user=[REDACTED]"

    plain = by_type["HTTP 503"]
    assert plain["exception.message"] == "503 response to GET /unavailable (no exception reached the SDK)"
    assert plain["url.full"] == "http://testserver/unavailable?auth_code=REDACTED"
    assert "code.file.path" not in plain and json.loads(plain["bongsu.error.frames"]) == []
    assert sample("bongsu_exceptions_total", exception_type="HTTP 503", code_function="", code_filepath="",
                  code_lineno="") >= 1
    assert len(receiver.records()) == 2  # the 200 made no report


def test_wsgi_flask_report_uses_the_exception_flask_logged(sdk, receiver):
    handle = sdk(revision="f1a5c0de", otlp_endpoint=receiver.base, error_reports_url=receiver.url)
    client = flask_shop(receiver.base).test_client()
    response = client.post("/invoices/9?secret=s3&lang=en",
                                           data={"email": "frank@example.com", "api_key": "ak-9", "amount": "12"},
                                           headers={"User-Agent": "flask-tests/2"}, buffered=True)
    assert response.status_code == 500
    _, resource, record = receiver.wait_for(1)[0]
    attributes = _attributes(record)
    assert resource["vcs.ref.head.revision"] == "f1a5c0de"
    assert attributes["exception.type"] == "ZeroDivisionError"
    assert attributes["code.function.name"] == "flask_shop.<locals>.invoice"
    assert attributes["code.file.path"] == THIS_FILE
    assert attributes["code.line.number"] == _line_of("# CULPRIT-FLASK")
    assert attributes["http.route"] == "/invoices/<int:invoice_id>"
    assert attributes["url.full"] == "http://localhost/invoices/9?secret=REDACTED&lang=en"
    crumbs = json.loads(attributes["bongsu.error.breadcrumbs"])
    assert [c["type"] for c in crumbs][:2] == ["http", "log"]
    assert crumbs[0]["url"] == f"{receiver.base}/upstream" and crumbs[0]["status_code"] == 200
    assert crumbs[1]["message"] == "invoice 9 for [REDACTED]"
    data = json.loads(attributes["bongsu.error.request"])
    assert data["body"] == "email=[REDACTED]&api_key=REDACTED&amount=12"
    assert data["headers"]["user-agent"] == "flask-tests/2"
    line = next(x for x in handle.lines() if x["message"].startswith("error report: "))
    assert line["trace_id"] == record.trace_id.hex()
    instrumentation.shutdown(timeout=5)
    span = next(s for s in receiver.server_spans() if s.trace_id == record.trace_id)
    assert any(e.name == "exception" for e in span.events)  # Flask caught it; the SDK recorded it


def test_rate_limited_per_fingerprint_then_counts(sdk, receiver):
    sdk(error_reports_url=receiver.url, error_reports_interval=1.0)
    client = TestClient(starlette_shop(receiver.base), raise_server_exceptions=False)
    labels = dict(exception_type="ValueError", code_function="refund", code_filepath=THIS_FILE,
                  code_lineno=str(_line_of("# CULPRIT-VALUE")))
    before = sample("bongsu_exceptions_total", **labels)
    sent = 0
    deadline = time.monotonic() + 30
    while len(receiver.records()) < 2:  # errors until the window passes and a second full report comes
        assert time.monotonic() < deadline, f"second report never came; {sent} errors, {receiver.records()}"
        assert client.post("/refund").status_code == 500
        sent += 1
    first, second = (_attributes(r) for _, _, r in receiver.records()[:2])
    assert first["bongsu.error.fingerprint"] == second["bongsu.error.fingerprint"]
    assert first["bongsu.error.count"] == 1
    assert 2 <= second["bongsu.error.count"] <= sent - 1
    assert sent >= 3  # the errors between the two full reports were counted, not reported
    instrumentation.shutdown(timeout=5)
    assert sample("bongsu_exceptions_total", **labels) - before == sent


@pytest.mark.parametrize("dead", ["black_hole", "refused"])
def test_a_dead_receiver_never_breaks_requests(sdk, dead):
    hole = BlackHole() if dead == "black_hole" else None
    url = f"{hole.endpoint}/v1/logs" if hole is not None else f"http://127.0.0.1:{closed_port()}/v1/logs"
    reason = "queue_full" if dead == "black_hole" else "export_failed"
    before = sample("bongsu_sdk_dropped_total", signal="error_reports", reason=reason)
    try:
        sdk(error_reports_url=url, error_reports_interval=0)
        client = TestClient(starlette_shop("http://127.0.0.1:9"), raise_server_exceptions=False)
        for index in range(400):
            assert client.post("/refund").status_code == 500, index
            assert client.get("/ok").status_code == 200
        deadline = time.monotonic() + 20
        while sample("bongsu_sdk_dropped_total", signal="error_reports", reason=reason) == before:
            assert time.monotonic() < deadline, f"no {reason} drop counted"
            time.sleep(0.05)
        started = time.monotonic()
        instrumentation.shutdown(timeout=2)  # bounded however the receiver behaves
        assert time.monotonic() - started < 10
    finally:
        if hole is not None:
            hole.stop()


def test_bad_configuration_names_the_variable(sdk, monkeypatch):
    monkeypatch.setenv("BONGSU_ERROR_REPORTS_URL", "collector:4318")
    with pytest.raises(ConfigError, match="BONGSU_ERROR_REPORTS_URL"):
        sdk()
    monkeypatch.delenv("BONGSU_ERROR_REPORTS_URL")
    monkeypatch.setenv("BONGSU_ERROR_REPORTS_INTERVAL", "soon")
    with pytest.raises(ConfigError, match="BONGSU_ERROR_REPORTS_INTERVAL='soon'"):
        sdk()
