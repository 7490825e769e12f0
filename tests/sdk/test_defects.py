"""Defects from the OTel-contract review, one test each (every one failed before its fix): PII in
spans and logs, server loggers outside the pipeline, cancelled requests, forked exporter sessions,
a provider set before init(), a second init(), the sampler's span name, Flask and Django, and the
HTTP semantic conventions."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path

import httpx
import pytest
from loguru import logger
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

import instrumentation
from bongsu.processes import Child, free_port
from tests.sdk.apps import django_app, enriching_starlette_app, flask_failing_app, starlette_app
from tests.sdk.conftest import run_python

ROOT = Path(__file__).resolve().parents[2]
EMAIL, CARD = "jane@example.com", "4111111111111111"


def _server(provider):  # type: ignore[no-untyped-def]
    return [s for s in provider.memory.get_finished_spans() if s.kind is SpanKind.SERVER]


def _wsgi_get(app, path, **options):  # type: ignore[no-untyped-def]
    """GET through werkzeug's test client, closing the body as a WSGI server does (that ends the span)."""
    from werkzeug.test import Client

    response = Client(app).get(path, **options)
    response.close()
    return response


def _asgi(app, provider, registry=None):  # type: ignore[no-untyped-def]
    return TestClient(instrumentation.instrument_asgi(app, registry=registry or CollectorRegistry(),
                                                      tracer_provider=provider), raise_server_exceptions=False)


# --- PII -------------------------------------------------------------------------------------------

def test_server_span_exception_is_redacted(provider):
    async def pay(request):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"card {CARD} of {EMAIL} declined")

    _asgi(Starlette(routes=[Route("/pay", pay)]), provider).get("/pay")
    (span,) = _server(provider)
    event = next(e for e in span.events if e.name == "exception")
    assert "[REDACTED]" in event.attributes["exception.message"]
    for key in ("exception.message", "exception.stacktrace"):
        assert EMAIL not in event.attributes[key] and CARD not in event.attributes[key]


def test_application_recorded_exception_is_redacted_on_the_wire(sdk, otlp, monkeypatch):
    """`span.record_exception` in application code goes straight into the SDK span; Bongsu's
    exporter redacts it on the way out."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    TestClient(instrumentation.instrument_asgi(enriching_starlette_app())).get("/enrich/5")
    spans = otlp.wait_for(lambda s: any(x.attributes.get("order.id") == "5" for x in s))
    span = next(x for x in spans if x.attributes.get("order.id") == "5")
    exception = dict(span.events)["exception"]
    assert EMAIL not in exception["exception.message"] and "[REDACTED]" in exception["exception.message"]
    assert EMAIL not in exception["exception.stacktrace"]


def test_log_exception_stack_and_nested_extras_are_redacted(sdk):
    handle = sdk()
    try:
        raise ValueError(f"no account for {EMAIL}")
    except ValueError:
        logger.bind(customer={"email": EMAIL, "cards": [CARD]}, emails=[EMAIL]).exception("lookup failed")
    line = handle.lines()[-1]
    assert EMAIL not in json.dumps(line) and CARD not in json.dumps(line)
    assert line["customer"] == {"email": "[REDACTED]", "cards": ["[REDACTED]"]}
    assert line["exception"]["stack"].rstrip().endswith("ValueError: no account for [REDACTED]")


def test_client_span_url_full_has_no_credentials(global_memory, sdk):
    sdk()
    with trace.get_tracer("t").start_as_current_span("parent"):
        try:
            httpx.get(f"http://shop:s3cret@127.0.0.1:{free_port()}/orders?email={EMAIL}", timeout=2)
        except httpx.HTTPError:
            pass
    (client,) = [s for s in global_memory.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert client.attributes["url.full"].startswith("http://REDACTED:REDACTED@127.0.0.1:")
    assert "s3cret" not in client.attributes["url.full"] and EMAIL not in client.attributes["url.full"]
    assert client.attributes["error.type"] == "httpx.ConnectError"


# --- uvicorn's loggers ------------------------------------------------------------------------------

def test_uvicorn_tracebacks_and_access_log_go_through_the_pipeline(tmp_path):
    port = free_port()
    child = Child("failing", [sys.executable, "-m", "uvicorn", "tests.sdk.apps:failing_app", "--factory",
                              "--host", "127.0.0.1", "--port", str(port)],
                  tmp_path / "failing.log", health_url=f"http://127.0.0.1:{port}/livez", cwd=ROOT,
                  env={"PYTHONPATH": str(ROOT)})
    child.start()
    try:
        child.wait_healthy(60)
        assert httpx.get(f"http://127.0.0.1:{port}/boom", timeout=10).status_code == 500
        assert httpx.get(f"http://127.0.0.1:{port}/ok?email={EMAIL}", timeout=10).status_code == 200
        deadline = __import__("time").monotonic() + 20
        text = ""
        while __import__("time").monotonic() < deadline:
            text = child.log_path.read_text()
            if "/ok?" in text:
                break
            __import__("time").sleep(0.05)
    finally:
        child.stop()
    assert "/ok?" in text, text[-2000:]
    assert EMAIL not in text, text[-2000:]
    records = []
    for raw in text.splitlines():
        if raw.startswith("{"):
            records.append(json.loads(raw))
        else:
            assert "Traceback" not in raw and "PaymentDeclined" not in raw, f"plain-text line: {raw}"
    failure = next(r for r in records if "exception" in r and r["exception"]["type"] == "PaymentDeclined")
    assert failure["logger"].startswith("uvicorn") and len(failure["trace_id"]) == 32
    assert "[REDACTED]" in failure["exception"]["message"]
    access = next(r for r in records if r.get("logger") == "uvicorn.access" and "/ok?" in r["message"])
    assert "email=[REDACTED]" in access["message"]


def test_gunicorn_access_and_error_logs_go_through_the_pipeline(tmp_path):
    port = free_port()
    child = Child("gunicorn", [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                               "--access-logfile", "-", "--error-logfile", "-", "tests.sdk.apps:gunicorn_wsgi()"],
                  tmp_path / "gunicorn.log", health_url=f"http://127.0.0.1:{port}/livez", cwd=ROOT,
                  env={"PYTHONPATH": str(ROOT)})
    child.start()
    try:
        child.wait_healthy(60)
        assert httpx.get(f"http://127.0.0.1:{port}/divide/0", timeout=10).status_code == 500
        assert httpx.get(f"http://127.0.0.1:{port}/divide/2?email={EMAIL}", timeout=10).status_code == 200
        deadline = __import__("time").monotonic() + 20
        text = ""
        while __import__("time").monotonic() < deadline:
            text = child.log_path.read_text()
            if "/divide/2?" in text:
                break
            __import__("time").sleep(0.05)
    finally:
        child.stop()
    assert "/divide/2?" in text and EMAIL not in text, text[-2000:]
    # The master process logs a few plain lines before any worker imports the app; the worker's are JSON.
    records = [json.loads(raw) for raw in text.splitlines() if raw.startswith("{")]
    access = next(r for r in records if r.get("logger") == "gunicorn.access" and "/divide/2?" in r["message"])
    assert "email=[REDACTED]" in access["message"] and access["service.name"] == "gunicorn-failing"
    failure = next(r for r in records if "exception" in r and r["exception"]["type"] == "ZeroDivisionError")
    assert len(failure["trace_id"]) == 32
    assert not [raw for raw in text.splitlines() if raw.startswith("Traceback")], text[-2000:]


# --- cancelled requests ----------------------------------------------------------------------------

def test_request_cancelled_before_response_is_not_an_error(provider):
    registry = CollectorRegistry()
    started = asyncio.Event()

    async def slow(scope, receive, send):  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.Event().wait()

    app = instrumentation.instrument_asgi(slow, registry=registry, tracer_provider=provider)

    async def run() -> None:
        scope = {"type": "http", "method": "GET", "path": "/slow", "headers": [], "query_string": b""}

        async def receive():  # type: ignore[no-untyped-def]
            return {"type": "http.request", "body": b""}

        async def send(message):  # type: ignore[no-untyped-def]
            pass

        task = asyncio.ensure_future(app(scope, receive, send))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    (span,) = _server(provider)
    assert span.status.status_code is StatusCode.UNSET
    assert "http.response.status_code" not in span.attributes and "error.type" not in span.attributes
    labels = {"http_request_method": "GET", "http_route": "unmatched"}
    assert registry.get_sample_value("http_server_request_duration_seconds_count",
                                     {**labels, "http_response_status_code": ""}) == 1
    assert registry.get_sample_value("http_server_request_duration_seconds_count",
                                     {**labels, "http_response_status_code": "500"}) is None
    instrumentation.shutdown(timeout=5)  # flushes the error reports: a client going away makes none
    assert [s for m in registry.collect() if m.name == "bongsu_exceptions" for s in m.samples
            if s.name == "bongsu_exceptions_total"] == []


# --- forked workers --------------------------------------------------------------------------------

def test_forked_worker_gets_its_own_exporter_session():
    out = run_python(f"""
import io, os, instrumentation
from instrumentation import lifecycle
state = instrumentation.init(service_name="forky", otlp_endpoint="http://127.0.0.1:{free_port()}",
                             log_stream=io.StringIO())
parent = id(state.processor.exporter.session)
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, str(id(lifecycle.current().processor.exporter.session)).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(parent, os.read(read, 64).decode())
""")
    parent, child = out.split()
    assert parent != child


# --- a provider set before init() ------------------------------------------------------------------

def test_provider_set_before_init_is_attached_to(otlp):
    out = run_python(f"""
import io, instrumentation
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient
from tests.sdk.apps import starlette_app
theirs = TracerProvider()
memory = InMemorySpanExporter()
theirs.add_span_processor(SimpleSpanProcessor(memory))
trace.set_tracer_provider(theirs)   # the distro's launcher, Sentry's OTel mode...
instrumentation.init(service_name="attached", otlp_endpoint="{otlp.endpoint}", log_stream=io.StringIO())
assert trace.get_tracer_provider() is theirs
TestClient(instrumentation.instrument_asgi(starlette_app())).get("/items/4")
instrumentation.shutdown(timeout=5)
print([s.name for s in memory.get_finished_spans()])
""", env={"PYTHONPATH": str(ROOT)})
    assert "GET /items/{item_id}" in out
    otlp.wait_for(lambda s: any(x.name == "GET /items/{item_id}" for x in s))


# --- a second init() -------------------------------------------------------------------------------

def test_second_init_with_other_arguments_warns(sdk):
    handle = sdk()
    instrumentation.init(service_name="someone-else", exemplars=False)
    warning = handle.lines()[-1]
    assert warning["level"] == "WARNING"
    assert "ignoring exemplars, service_name" in warning["message"]


def test_init_after_a_request_auto_initialised_applies(provider, sdk):
    instrumentation.shutdown(timeout=2)
    TestClient(instrumentation.instrument_asgi(starlette_app())).get("/items/1")  # before init()
    state = instrumentation.init(service_name="late", log_stream=io.StringIO())
    assert state.identity["service.name"] == "late"
    assert trace.get_tracer_provider().resource.attributes["service.name"] == "late"


# --- the sampler's name ----------------------------------------------------------------------------

class NameRecorder(Sampler):
    """A custom sampler (the kind that reads names): samples everything, remembers what it was asked."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,  # type: ignore[no-untyped-def]
                      trace_state=None) -> SamplingResult:
        self.names.append(name)
        return SamplingResult(Decision.RECORD_AND_SAMPLE)

    def get_description(self) -> str:
        return "NameRecorder"


def test_sampler_is_asked_about_the_route(provider):
    recorder = NameRecorder()
    sampled = TracerProvider(sampler=recorder, shutdown_on_exit=False)
    _asgi(starlette_app(), sampled).get("/items/3")
    _asgi(starlette_app(), sampled).get("/api/v1/users/ann")
    flask = instrumentation.instrument_wsgi(flask_failing_app(), registry=CollectorRegistry(),
                                            tracer_provider=sampled)
    _wsgi_get(flask, "/divide/2")
    assert [n for n in recorder.names if n != "GET"] == ["GET /items/{item_id}", "GET /api/v1/users/{name}",
                                                       "GET /divide/<int:by>"]


def test_sampler_can_be_passed_to_init(sdk):
    recorder = NameRecorder()
    sdk(sampler=recorder)
    TestClient(instrumentation.instrument_asgi(starlette_app())).get("/items/8")
    assert "GET /items/{item_id}" in recorder.names


# --- Flask and Django ------------------------------------------------------------------------------

def test_flask_5xx_span_has_the_exception(provider):
    app = instrumentation.instrument_wsgi(flask_failing_app(), registry=CollectorRegistry(), tracer_provider=provider)
    assert _wsgi_get(app, "/divide/0").status_code == 500
    (span,) = _server(provider)
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes["error.type"] == "ZeroDivisionError"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.route"] == "/divide/<int:by>"


def test_django_requests_get_their_route(provider):
    registry = CollectorRegistry()
    app = instrumentation.instrument_wsgi(django_app(), registry=registry, tracer_provider=provider)
    assert _wsgi_get(app, "/orders/12").status_code == 200
    (span,) = _server(provider)
    assert span.attributes["http.route"] == "/orders/<int:order_id>"
    assert span.name == "GET /orders/<int:order_id>"
    assert registry.get_sample_value("http_server_request_duration_seconds_count", {
        "http_request_method": "GET", "http_route": "/orders/<int:order_id>", "http_response_status_code": "200"}) == 1


# --- semantic conventions --------------------------------------------------------------------------

def test_asgi_semantic_conventions(provider):
    client = _asgi(starlette_app(), provider)
    client.get(f"/items/1?email={EMAIL}&page=2", headers={"host": "shop.example:8443", "user-agent": "probe/1.0"})
    client.get("/no/such/page")
    client.request("FROB", "/no/such/page")
    client.get("/boom")
    ok, missing, unknown, boom = _server(provider)
    assert ok.attributes["server.address"] == "shop.example" and ok.attributes["server.port"] == 8443
    assert ok.attributes["url.query"] == "email=[REDACTED]&page=2"
    assert ok.attributes["user_agent.original"] == "probe/1.0"
    assert missing.name == "GET" and "http.route" not in missing.attributes
    assert unknown.name == "HTTP" and unknown.attributes["http.request.method"] == "_OTHER"
    assert unknown.attributes["http.request.method_original"] == "FROB"
    assert boom.attributes["error.type"] == "RuntimeError"


def test_error_type_is_the_fully_qualified_class_name(provider):
    from tests.sdk.apps import PaymentDeclined

    async def pay(request):  # type: ignore[no-untyped-def]
        raise PaymentDeclined("no")

    _asgi(Starlette(routes=[Route("/pay", pay)]), provider).get("/pay")
    (span,) = _server(provider)
    assert span.attributes["error.type"] == "tests.sdk.apps.PaymentDeclined"


def test_wsgi_server_port_and_protocol_version(provider):
    from tests.sdk.apps import flask_app

    app = instrumentation.instrument_wsgi(flask_app(), registry=CollectorRegistry(), tracer_provider=provider)
    _wsgi_get(app, "/orders/3", environ_overrides={"SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1"},
                    headers={"Host": "orders.internal:8080", "User-Agent": "probe/2"})
    (span,) = _server(provider)
    assert span.attributes["server.address"] == "orders.internal" and span.attributes["server.port"] == 8080
    assert span.attributes["network.protocol.version"] == "1.1"
    assert span.attributes["user_agent.original"] == "probe/2"
