"""Trace context out: the helper, and plain httpx / requests calls made inside a request."""

from __future__ import annotations

import httpx
import pytest
import requests
from opentelemetry import trace

import instrumentation


def test_outgoing_headers_carry_the_current_span(sdk):
    sdk()
    assert instrumentation.outgoing_headers() == {}  # no span, nothing to propagate
    with trace.get_tracer("t").start_as_current_span("parent") as span:
        headers = instrumentation.outgoing_headers()
    context = span.get_span_context()
    assert headers["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


@pytest.mark.parametrize("library", ["httpx", "requests"])
def test_plain_client_calls_propagate(library, sdk, echo):
    sdk()
    url, seen = echo
    with trace.get_tracer("t").start_as_current_span("parent") as span:
        if library == "httpx":
            httpx.get(url)
        else:
            requests.get(url, timeout=5)
    version, trace_id, parent_id, flags = seen[-1]["traceparent"].split("-")
    assert trace_id == f"{span.get_span_context().trace_id:032x}"
    assert parent_id != f"{span.get_span_context().span_id:016x}"  # the client span sits in between


def test_shutdown_removes_the_client_hooks(sdk, echo):
    sdk()
    instrumentation.shutdown()
    url, seen = echo
    with trace.get_tracer("t").start_as_current_span("parent"):
        httpx.get(url)
    assert "traceparent" not in seen[-1]
