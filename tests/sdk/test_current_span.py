"""The request's span is a real OpenTelemetry span: application code enriches it with the whole
Span API, every processor on the provider (the user's included) sees it start and end, and the
provider's sampler decides. Starlette and FastAPI, in memory and on the OTLP wire."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

import instrumentation
from tests.sdk.apps import enriching_fastapi_app, enriching_starlette_app

APPS = {"starlette": enriching_starlette_app, "fastapi": enriching_fastapi_app}


def _server(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.kind is SpanKind.SERVER]


@pytest.mark.parametrize("framework", sorted(APPS))
def test_handler_enriches_the_current_span(framework, provider):
    app = instrumentation.instrument_asgi(APPS[framework](), registry=CollectorRegistry(), tracer_provider=provider)
    assert TestClient(app).get("/enrich/42").status_code == 200
    (span,) = _server(provider.memory.get_finished_spans())
    assert span.attributes["order.id"] == "42"
    assert span.attributes["order.items"] == 3
    assert span.attributes["order.tags"] == ("a", "b")
    assert span.attributes["http.route"] == "/enrich/{order_id}"
    assert [e.name for e in span.events] == ["order.priced", "exception"]
    assert span.events[1].attributes["exception.type"] == "ValueError"
    assert span.links and span.links[0].attributes["link.kind"] == "self"
    assert span.status.status_code is StatusCode.OK
    assert span.name == "GET /enrich/{order_id} (enriched)"  # the application's name wins


@pytest.mark.parametrize("framework", sorted(APPS))
def test_user_processor_sees_every_server_span(framework, provider):
    app = instrumentation.instrument_asgi(APPS[framework](), registry=CollectorRegistry(), tracer_provider=provider)
    client = TestClient(app)
    for order in range(3):
        client.get(f"/enrich/{order}")
    ended = _server(provider.user.ended)
    assert len(ended) == 3 and provider.user.started.count("GET") == 3
    assert all(isinstance(s, ReadableSpan) for s in ended)
    assert [s.attributes["order.id"] for s in ended] == ["0", "1", "2"]


def test_current_span_is_recording_and_attribute_limits_apply(provider):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen = {}

    async def probe(request):  # type: ignore[no-untyped-def]
        span = trace.get_current_span()
        seen["recording"] = span.is_recording()
        span.set_attribute("bad", object())  # not an attribute value: dropped, not raised
        for index in range(200):  # past the default limit of 128 attributes
            span.set_attribute(f"extra.{index}", index)
        return JSONResponse({})

    app = instrumentation.instrument_asgi(Starlette(routes=[Route("/probe", probe)]), registry=CollectorRegistry(),
                                          tracer_provider=provider)
    TestClient(app).get("/probe")
    (span,) = _server(provider.memory.get_finished_spans())
    assert seen["recording"] is True
    assert "bad" not in span.attributes
    assert len(span.attributes) == 128 and span.dropped_attributes > 0


def test_unsampled_requests_get_ids_and_are_not_exported(provider):
    unsampled = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    unsampled.add_span_processor(provider.user)
    seen = {}

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def probe(request):  # type: ignore[no-untyped-def]
        span = trace.get_current_span()
        seen["recording"] = span.is_recording()
        seen["context"] = span.get_span_context()
        return JSONResponse({})

    app = instrumentation.instrument_asgi(Starlette(routes=[Route("/probe", probe)]), registry=CollectorRegistry(),
                                          tracer_provider=unsampled)
    TestClient(app).get("/probe", headers={"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"})
    assert seen["recording"] is False and seen["context"].is_valid
    assert seen["context"].trace_id == int("ab" * 16, 16)  # the caller's trace continues
    assert not provider.user.ended


def test_sampler_is_parent_based_by_default(global_memory, sdk, monkeypatch):
    """OTEL_TRACES_SAMPLER decides; the default respects the caller's sampled flag."""
    sdk()
    app = TestClient(instrumentation.instrument_asgi(enriching_starlette_app()))
    app.get("/enrich/1", headers={"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-00"})  # caller: not sampled
    app.get("/enrich/2", headers={"traceparent": f"00-{'ef' * 16}-{'cd' * 8}-01"})  # caller: sampled
    ids = [s.attributes["order.id"] for s in _server(global_memory.get_finished_spans())]
    assert ids == ["2"]
    instrumentation.shutdown(timeout=2)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    sdk()
    app.get("/enrich/3")
    assert [s.attributes["order.id"] for s in _server(global_memory.get_finished_spans())] == ["2"]


def test_sampler_passed_to_init(global_memory, sdk):
    sdk(sampler=ParentBased(TraceIdRatioBased(0.0)))
    TestClient(instrumentation.instrument_asgi(enriching_starlette_app())).get("/enrich/1")
    assert not _server(global_memory.get_finished_spans())
    assert isinstance(trace.get_tracer_provider(), TracerProvider)


@pytest.mark.parametrize("framework", sorted(APPS))
def test_enriched_span_on_the_otlp_wire(framework, sdk, otlp, monkeypatch):
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)
    TestClient(instrumentation.instrument_asgi(APPS[framework]())).get("/enrich/77")
    spans = otlp.wait_for(lambda s: any(x.attributes.get("order.id") == "77" for x in s))
    span = next(x for x in spans if x.attributes.get("order.id") == "77")
    assert span.kind == 2 and span.scope == "bongsu.instrumentation"
    assert span.attributes["order.items"] == 3 and span.attributes["http.route"] == "/enrich/{order_id}"
    assert [name for name, _ in span.events] == ["order.priced", "exception"]
    assert span.events[0][1] == {"order.total": 12.5}
    assert span.links == [span.span_id]
    assert span.resource["service.name"] == "payments"


def test_span_limits_apply_to_start_attributes_and_user_values():
    """The request span's fast attribute path keeps the SDK's rules: the length limit truncates
    Bongsu's own start attributes and the application's values alike; sequences are cleaned into
    tuples; an invalid key is dropped; processors get an SDK `Span`."""
    from opentelemetry.sdk.trace import Span, SpanLimits
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    limited = TracerProvider(span_limits=SpanLimits(max_span_attribute_length=8), shutdown_on_exit=False)
    memory = InMemorySpanExporter()
    limited.add_span_processor(SimpleSpanProcessor(memory))
    started: list[object] = []

    class Seen(SimpleSpanProcessor):
        def on_start(self, span, parent_context=None):  # type: ignore[no-untyped-def]
            started.append(span)

    limited.add_span_processor(Seen(InMemorySpanExporter()))

    async def probe(request):  # type: ignore[no-untyped-def]
        span = trace.get_current_span()
        span.set_attribute("note", "abcdefghijklmnop")
        span.set_attributes({"tags": ["a", 2], "": "empty key", "short": "ok"})
        return JSONResponse({})

    app = instrumentation.instrument_asgi(Starlette(routes=[Route("/probe", probe)]), registry=CollectorRegistry(),
                                          tracer_provider=limited)
    TestClient(app).get("/probe", headers={"user-agent": "a-very-long-agent/1.0"})
    (span,) = memory.get_finished_spans()
    assert span.attributes["user_agent.original"] == "a-very-l"
    assert span.attributes["note"] == "abcdefgh"
    assert span.attributes["tags"] == ("a", 2) and span.attributes["short"] == "ok"
    assert "" not in span.attributes
    assert len(started) == 1 and isinstance(started[0], Span)
    limited.shutdown()


def test_request_span_has_exactly_the_sdk_span_fields():
    """`RequestSpan` sets `Span.__init__`'s fields itself: the same set, the same values as the span
    `Tracer.start_span` makes, so an opentelemetry-sdk upgrade that changes them fails here."""
    from opentelemetry.sdk.trace import SpanLimits

    from instrumentation import sdkspan

    provider = TracerProvider(span_limits=SpanLimits(max_events=7, max_links=5), shutdown_on_exit=False)
    tracer = provider.get_tracer("probe")
    fast = sdkspan.fast_tracer(tracer)
    assert fast is not None
    attributes = {"http.request.method": "GET", "server.port": 80}
    ours = sdkspan.start(fast, None, "GET", SpanKind.SERVER, attributes)
    theirs = tracer.start_span("GET", None, SpanKind.SERVER, attributes, record_exception=False,
                               set_status_on_exception=False)
    assert type(ours) is sdkspan.RequestSpan
    assert set(vars(ours)) == set(vars(theirs))
    different = {"_context", "_lock", "_attributes", "_events", "_links", "_start_time", "_record_end_metrics",
                 "_status"}
    for field in set(vars(theirs)) - different:
        assert getattr(ours, field) == getattr(theirs, field), field
    assert dict(ours.attributes) == dict(theirs.attributes)
    assert (ours.status.status_code, ours.status.description) == (theirs.status.status_code, None)
    for span in (ours, theirs):  # past the limits: the same lists, the same drops
        for index in range(9):
            span.add_event(f"e{index}")
        for index in range(7):
            span.add_link(trace.SpanContext(index + 1, index + 1, False))
    assert type(ours._events) is type(theirs._events) and type(ours._links) is type(theirs._links)
    assert [e.name for e in ours.events] == [e.name for e in theirs.events] == [f"e{i}" for i in range(2, 9)]
    assert (ours.dropped_events, ours.dropped_links) == (theirs.dropped_events, theirs.dropped_links) == (2, 2)
    assert ours.get_span_context().trace_flags == theirs.get_span_context().trace_flags
    ours.end()
    theirs.end()
    provider.shutdown()
