"""Bongsu's OTLP encoder writes the same ExportTraceServiceRequest as OpenTelemetry's own encoder."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from instrumentation.otlp import Encoder


def _spans() -> list[ReadableSpan]:
    resource = Resource.create({"service.name": "payments", "service.version": "1.0", "replicas": 3,
                                "ratio": 0.5, "flag": True, "zones": ("a", "b")})
    other = Resource.create({"service.name": "orders"})
    scope = InstrumentationScope("bongsu.instrumentation", "1.2", "https://opentelemetry.io/schemas/1.26.0")
    remote_parent = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    spans = []
    for index in range(3):
        context = SpanContext(0x0AF7651916CD43DD8448EB211C80319C + index, 0xB7AD6B7169203331 + index, is_remote=False,
                              trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", f"v{index}")]))
        spans.append(ReadableSpan(
            f"GET /items/{{id}} {index}", context=context, parent=remote_parent if index else None, resource=resource,
            attributes={"http.request.method": "GET", "url.path": f"/items/{index}", "http.response.status_code": 200,
                        "negative": -5, "big": 2**62, "pi": 3.14, "ok": False, "tags": ["x", "y"],
                        "same": (True, 1, 1.0)[index]},  # equal in Python, three types on the wire
            events=[Event("exception", {"exception.type": "ValueError", "exception.message": "bad"}, timestamp=123)],
            links=[Link(remote_parent, {"why": "batch"})],
            kind=SpanKind.SERVER if index else SpanKind.CLIENT,
            status=Status(StatusCode.ERROR, "boom") if index == 2 else Status(StatusCode.UNSET),
            start_time=1_700_000_000_000_000_000 + index, end_time=1_700_000_000_100_000_000 + index,
            instrumentation_scope=scope))
    spans.append(ReadableSpan("other", context=SpanContext(1, 2, False, TraceFlags(1)), resource=other,
                              attributes={}, kind=SpanKind.INTERNAL, start_time=1, end_time=2,
                              instrumentation_scope=InstrumentationScope("mine")))
    return spans


def _normalised(request: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    """Resource attribute order is irrelevant to OTLP; sort it so the comparison is exact otherwise."""
    for resource_spans in request.resource_spans:
        attributes = sorted(resource_spans.resource.attributes, key=lambda kv: kv.key)
        del resource_spans.resource.attributes[:]
        resource_spans.resource.attributes.extend(attributes)
    return request


def test_encoding_matches_opentelemetry():
    spans = _spans()
    ours = ExportTraceServiceRequest()
    ours.ParseFromString(Encoder().request(spans))
    theirs = encode_spans(spans)
    assert _normalised(ours) == _normalised(theirs)


def test_cached_pairs_encode_identically_on_reuse():
    encoder = Encoder()
    spans = _spans()
    first, second = encoder.request(spans), encoder.request(spans)
    assert first == second
