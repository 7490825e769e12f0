"""Defects from the OTel-contract review (issue 16 item 7), one test each: PII in spans and logs,
server loggers outside the pipeline, cancelled requests, forked exporter sessions, a provider set
before init(), a second init(), the sampler's span name, Flask and Django, and the HTTP semantic
conventions. They use the API the SDK had before the fixes (init, instrument_asgi/instrument_wsgi)
and check the exported bytes, so each fails on the pre-fix SDK for its own reason (docs/sdk.md,
"Defects from issue 16 and their tests", lists those failures)."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from loguru import logger
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

import instrumentation
from bongsu.processes import Child, free_port
from tests.sdk.apps import django_app, enriching_starlette_app, flask_failing_app, starlette_app
from tests.sdk.conftest import Sdk, run_python, sample
from tests.sdk.receivers import FluentReceiver, OtlpReceiver, ReceivedSpan

ROOT = Path(__file__).resolve().parents[2]
EMAIL, CARD = "jane@example.com", "4111111111111111"
SERVER, CLIENT, UNSET, ERROR = 2, 3, 0, 2  # OTLP SpanKind and StatusCode on the wire


def _wsgi_get(app, path, **options):  # type: ignore[no-untyped-def]
    """GET through werkzeug's test client, closing the body as a WSGI server does (that ends the span)."""
    from werkzeug.test import Client

    response = Client(app).get(path, **options)
    response.close()
    return response


@pytest.fixture
def wire(sdk: Callable[..., Sdk], otlp: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> OtlpReceiver:
    """`init()` exporting to the OTLP receiver, the way a service starts."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    return otlp


def _asgi(app: Any) -> TestClient:
    return TestClient(instrumentation.instrument_asgi(app), raise_server_exceptions=False)


def _served(otlp: OtlpReceiver, path: str) -> ReceivedSpan:
    """The exported server span of the request for `path` (waits for the batch)."""
    def found(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if s.kind == SERVER and s.attributes.get("url.path") == path]

    return found(otlp.wait_for(lambda spans: found(spans)))[-1]


# --- PII -------------------------------------------------------------------------------------------

def test_server_span_exception_is_redacted(wire):
    async def pay(request):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"card {CARD} of {EMAIL} declined")

    _asgi(Starlette(routes=[Route("/pay", pay)])).get("/pay")
    event = dict(_served(wire, "/pay").events)["exception"]
    for key in ("exception.message", "exception.stacktrace"):
        assert EMAIL not in event[key] and CARD not in event[key], f"{key}: {event[key][-200:]}"
    assert "[REDACTED]" in event["exception.message"]


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


def test_log_exception_stack_is_redacted(sdk):
    """The exception's message is redacted, and so is its copy on the stack's last line."""
    handle = sdk()
    try:
        raise ValueError(f"no account for {EMAIL}")
    except ValueError:
        logger.exception("lookup failed")
    exception = handle.lines()[-1]["exception"]
    assert exception["message"] == "no account for [REDACTED]"
    assert exception["stack"].rstrip().endswith("ValueError: no account for [REDACTED]"), exception["stack"]
    assert EMAIL not in exception["stack"]


def test_log_dict_and_list_extras_are_redacted(sdk):
    handle = sdk()
    logger.bind(customer={"email": EMAIL, "cards": [CARD]}, emails=[EMAIL]).info("lookup")
    line = handle.lines()[-1]
    assert line["customer"] == {"email": "[REDACTED]", "cards": ["[REDACTED]"]}
    assert line["emails"] == ["[REDACTED]"]
    assert EMAIL not in json.dumps(line) and CARD not in json.dumps(line)


def test_client_span_url_full_has_no_credentials(wire):
    with trace.get_tracer("t").start_as_current_span("parent"):
        try:
            httpx.get(f"http://shop:s3cret@127.0.0.1:{free_port()}/orders?email={EMAIL}", timeout=2)
        except httpx.HTTPError:
            pass
    (client,) = [s for s in wire.wait_for(lambda spans: any(s.kind == CLIENT for s in spans)) if s.kind == CLIENT]
    assert client.attributes["url.full"].startswith("http://REDACTED:REDACTED@127.0.0.1:"), client.attributes
    assert "s3cret" not in client.attributes["url.full"] and EMAIL not in client.attributes["url.full"]
    assert client.attributes["error.type"] == "httpx.ConnectError"


# --- uvicorn's loggers ------------------------------------------------------------------------------

def _server_process(name: str, argv: list[str], tmp_path: Path, fluent: FluentReceiver) -> tuple[Child, str]:
    """`python -m argv...` ({port} filled in) shipping its logs to `fluent`, once healthy."""
    port = free_port()
    child = Child(name, [sys.executable, "-m", *(arg.format(port=port) for arg in argv)],
                  tmp_path / f"{name}.log", health_url=f"http://127.0.0.1:{port}/livez", cwd=ROOT,
                  env={"PYTHONPATH": str(ROOT), "BONGSU_FLUENT_ADDRESS": fluent.address})
    child.start()
    child.wait_healthy(60)
    return child, f"http://127.0.0.1:{port}"


def _shipped(fluent: FluentReceiver, child: Child, access_logger: str, path: str, error: str) -> list[dict[str, Any]]:
    """The Fluent records, once the server's access line for `path` and its `error` traceback arrived."""
    def arrived(records: list[dict[str, Any]]) -> bool:
        return any(r.get("logger") == access_logger and path in r.get("message", "") for r in records) and \
            any(r.get("exception", {}).get("type") == error for r in records)

    try:
        return fluent.wait_for(arrived, timeout=20)
    except AssertionError as missing:
        shipped = [(r.get("logger"), r.get("message")) for _, _, r in fluent.records]
        raise AssertionError(f"{missing}: {shipped}; server output:\n{child.log_path.read_text()[-1500:]}") from None


def test_uvicorn_tracebacks_and_access_log_go_through_the_pipeline(tmp_path, fluent):
    child, url = _server_process("failing", ["uvicorn", "tests.sdk.apps:failing_app", "--factory",
                                             "--host", "127.0.0.1", "--port", "{port}"], tmp_path, fluent)
    try:
        assert httpx.get(f"{url}/boom", timeout=10).status_code == 500
        assert httpx.get(f"{url}/ok?email={EMAIL}", timeout=10).status_code == 200
        records = _shipped(fluent, child, "uvicorn.access", "/ok?", "PaymentDeclined")
    finally:
        child.stop()
    text = child.log_path.read_text()
    assert EMAIL not in text, text[-2000:]
    for raw in text.splitlines():
        assert raw.startswith("{") or ("Traceback" not in raw and "PaymentDeclined" not in raw), f"plain: {raw}"
    assert EMAIL not in json.dumps(records)
    failure = next(r for r in records if r.get("exception", {}).get("type") == "PaymentDeclined")
    assert failure["logger"].startswith("uvicorn") and len(failure["trace_id"]) == 32
    assert "[REDACTED]" in failure["exception"]["message"]
    access = next(r for r in records if r.get("logger") == "uvicorn.access" and "/ok?" in r["message"])
    assert "email=[REDACTED]" in access["message"]


def test_gunicorn_access_and_error_logs_go_through_the_pipeline(tmp_path, fluent):
    child, url = _server_process("gunicorn", ["gunicorn", "--workers", "1", "--bind", "127.0.0.1:{port}", "--access-logfile", "-",
                                              "--error-logfile", "-", "tests.sdk.apps:gunicorn_wsgi()"],
                                 tmp_path, fluent)
    try:
        assert httpx.get(f"{url}/divide/0", timeout=10).status_code == 500
        assert httpx.get(f"{url}/divide/2?email={EMAIL}", timeout=10).status_code == 200
        records = _shipped(fluent, child, "gunicorn.access", "/divide/2?", "ZeroDivisionError")
    finally:
        child.stop()
    text = child.log_path.read_text()
    assert EMAIL not in text, text[-2000:]
    assert not [raw for raw in text.splitlines() if raw.startswith("Traceback")], text[-2000:]
    # The master process logs a few plain lines before any worker imports the app; the worker's are JSON.
    assert EMAIL not in json.dumps(records)
    access = next(r for r in records if r.get("logger") == "gunicorn.access" and "/divide/2?" in r["message"])
    assert "email=[REDACTED]" in access["message"] and access["service.name"] == "gunicorn-failing"
    failure = next(r for r in records if r.get("exception", {}).get("type") == "ZeroDivisionError")
    assert len(failure["trace_id"]) == 32


# --- cancelled requests ----------------------------------------------------------------------------

def _total(name: str) -> float:
    """Sum of one sample name over all its label sets in the default registry."""
    return sum(s.value for m in REGISTRY.collect() for s in m.samples if s.name == name)


def test_request_cancelled_before_response_is_not_an_error(wire):
    started = asyncio.Event()

    async def slow(scope, receive, send):  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.Event().wait()

    app = instrumentation.instrument_asgi(slow)
    labels = {"http_request_method": "GET", "http_route": "unmatched"}
    count = "http_server_request_duration_seconds_count"
    before = {code: sample(count, **labels, http_response_status_code=code) for code in ("", "500")}
    exceptions = _total("bongsu_exceptions_total")

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
    span = _served(wire, "/slow")
    assert span.status_code == UNSET, f"status {span.status_code}, attributes {span.attributes}"
    assert "http.response.status_code" not in span.attributes and "error.type" not in span.attributes
    assert sample(count, **labels, http_response_status_code="500") == before["500"]
    assert sample(count, **labels, http_response_status_code="") == before[""] + 1
    instrumentation.shutdown(timeout=5)  # flushes the error reports: a client going away makes none
    assert _total("bongsu_exceptions_total") == exceptions


# --- forked workers --------------------------------------------------------------------------------

def test_forked_worker_gets_its_own_exporter_connection():
    """The parent exports over a kept-alive connection, then forks: the worker's spans must reach the
    collector over a connection of its own, never on the socket inherited from the parent."""
    receiver = OtlpReceiver(keep_alive=True)
    try:
        run_python(f"""
import io, os, instrumentation
state = instrumentation.init(service_name="forky", otlp_endpoint="{receiver.endpoint}", log_stream=io.StringIO())

def export(name):
    state.provider.get_tracer("t").start_span(name).end()
    assert state.processor.force_flush(10000), "export of " + name + " did not finish"

export("before-fork")
pid = os.fork()
if pid == 0:
    try:
        export("in-worker")
    finally:
        os._exit(0)
os.waitpid(pid, 0)
export("parent-after-fork")
instrumentation.shutdown(timeout=5)
""")
        names = {"before-fork", "in-worker", "parent-after-fork"}
        spans = {s.name: s for s in receiver.wait_for(lambda got: names <= {s.name for s in got})}
    finally:
        receiver.stop()
    parent_port = spans["before-fork"].peer_port
    assert spans["parent-after-fork"].peer_port == parent_port  # the parent keeps its connection
    assert spans["in-worker"].peer_port != parent_port, "the worker exported on the parent's socket"


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
    warnings = [line["message"] for line in handle.lines() if line["level"] == "WARNING"]
    assert warnings, f"the second init() logged no warning; its log: {handle.lines()}"
    assert "ignoring exemplars, service_name" in warnings[-1]


def test_init_after_a_request_auto_initialised_applies(sdk):
    instrumentation.shutdown(timeout=2)
    TestClient(instrumentation.instrument_asgi(starlette_app())).get("/items/1")  # before init()
    state = instrumentation.init(service_name="late", log_stream=io.StringIO())
    assert state.identity["service.name"] == "late"
    assert trace.get_tracer_provider().resource.attributes["service.name"] == "late"


# --- the sampler's name ----------------------------------------------------------------------------

class NameRecorder(Sampler):
    """A custom sampler (the kind that reads names): samples everything, remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, SpanKind | None]] = []

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,  # type: ignore[no-untyped-def]
                      trace_state=None) -> SamplingResult:
        self.asked.append((name, kind))
        return SamplingResult(Decision.RECORD_AND_SAMPLE)

    def server_names(self) -> list[str]:
        return [name for name, kind in self.asked if kind is SpanKind.SERVER]

    def get_description(self) -> str:
        return "NameRecorder"


def test_sampler_is_asked_about_the_route(sdk, monkeypatch):
    """The provider's sampler (here a custom one where OTEL_TRACES_SAMPLER would name it: the OTel SDK's
    env lookup returns it, Bongsu's code runs unchanged) is asked about "GET /route"."""
    from opentelemetry.sdk.trace import sampling

    recorder = NameRecorder()
    monkeypatch.setattr(sampling, "_get_from_env_or_default", lambda: recorder)
    sdk()
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    client.get("/items/3")
    client.get("/api/v1/users/ann")
    _wsgi_get(instrumentation.instrument_wsgi(flask_failing_app()), "/divide/2")
    assert recorder.server_names() == ["GET /items/{item_id}", "GET /api/v1/users/{name}", "GET /divide/<int:by>"]


def test_sampler_can_be_passed_to_init(sdk):
    recorder = NameRecorder()
    sdk(sampler=recorder)
    TestClient(instrumentation.instrument_asgi(starlette_app())).get("/items/8")
    assert recorder.server_names() == ["GET /items/{item_id}"]


# --- Flask and Django ------------------------------------------------------------------------------

def test_flask_5xx_span_has_the_exception(wire):
    app = instrumentation.instrument_wsgi(flask_failing_app())
    assert _wsgi_get(app, "/divide/0").status_code == 500
    span = _served(wire, "/divide/0")
    assert [name for name, _ in span.events] == ["exception"], span.attributes
    assert dict(span.events)["exception"]["exception.type"] == "ZeroDivisionError"
    assert span.attributes["error.type"] == "ZeroDivisionError"
    assert span.status_code == ERROR
    assert span.attributes["http.route"] == "/divide/<int:by>"


def test_django_requests_get_their_route(wire):
    labels = {"http_request_method": "GET", "http_route": "/orders/<int:order_id>", "http_response_status_code": "200"}
    before = sample("http_server_request_duration_seconds_count", **labels)
    app = instrumentation.instrument_wsgi(django_app())
    assert _wsgi_get(app, "/orders/12").status_code == 200
    span = _served(wire, "/orders/12")
    assert span.attributes.get("http.route") == "/orders/<int:order_id>", (span.name, span.attributes)
    assert span.name == "GET /orders/<int:order_id>"
    assert sample("http_server_request_duration_seconds_count", **labels) == before + 1


# --- semantic conventions --------------------------------------------------------------------------

def test_server_address_is_the_host_header(wire):
    _asgi(starlette_app()).get("/items/1", headers={"host": "shop.example:8443"})
    span = _served(wire, "/items/1")
    assert (span.attributes["server.address"], span.attributes["server.port"]) == ("shop.example", 8443)


def test_url_query_is_redacted_and_user_agent_recorded(wire):
    _asgi(starlette_app()).get(f"/items/2?email={EMAIL}&page=2", headers={"user-agent": "probe/1.0"})
    span = _served(wire, "/items/2")
    assert span.attributes.get("url.query") == "email=[REDACTED]&page=2", span.attributes
    assert span.attributes.get("user_agent.original") == "probe/1.0", span.attributes
    assert EMAIL not in str(span.attributes)


def test_unmatched_request_span_is_named_by_its_method_without_route(wire):
    _asgi(starlette_app()).get("/no/such/page")
    span = _served(wire, "/no/such/page")
    assert (span.name, span.attributes.get("http.route")) == ("GET", None)


def test_unknown_method_is_http_and_other(wire):
    _asgi(starlette_app()).request("FROB", "/items/5")
    span = _served(wire, "/items/5")
    assert span.name.split()[0] == "HTTP", span.name
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "FROB"


def test_error_type_is_the_fully_qualified_class_name(wire):
    from tests.sdk.apps import PaymentDeclined

    async def pay(request):  # type: ignore[no-untyped-def]
        raise PaymentDeclined("no")

    async def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    client = _asgi(Starlette(routes=[Route("/pay", pay), Route("/boom", boom)]))
    client.get("/pay")
    client.get("/boom")
    assert _served(wire, "/pay").attributes["error.type"] == "tests.sdk.apps.PaymentDeclined"
    assert _served(wire, "/boom").attributes["error.type"] == "RuntimeError"  # builtins stay short


def test_wsgi_server_port_and_protocol_version(wire):
    from tests.sdk.apps import flask_app

    app = instrumentation.instrument_wsgi(flask_app())
    _wsgi_get(app, "/orders/3", environ_overrides={"SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1"},
              headers={"Host": "orders.internal:8080", "User-Agent": "probe/2"})
    span = _served(wire, "/orders/3")
    assert span.attributes.get("server.port") == 8080, span.attributes
    assert span.attributes.get("network.protocol.version") == "1.1", span.attributes
    assert span.attributes["server.address"] == "orders.internal"
    assert span.attributes["user_agent.original"] == "probe/2"
