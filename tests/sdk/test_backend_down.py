"""Backends down: the trace and log backends refuse connections, or accept them and never answer.
Requests still complete while the exporters hang, queues stay bounded, drops are counted, and
shutdown returns within its budget. Latency is measured and reported, not asserted (shared machine);
the benchmark (`benchmarks/bench_sdk.py --backend-down`) records the distributions."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from loguru import logger
from starlette.testclient import TestClient

import instrumentation
from instrumentation import lifecycle
from tests.sdk.apps import starlette_app
from tests.sdk.conftest import sample
from tests.sdk.receivers import FluentReceiver, OtlpReceiver, closed_port

QUEUE = 64


def _drops(signal: str) -> float:
    return sum(sample("bongsu_sdk_dropped_total", signal=signal, reason=r)
               for r in ("queue_full", "export_failed", "send_failed", "shutdown"))


def _hammer(client: TestClient, count: int) -> list[float]:
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        response = client.get(f"/items/{index}")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
    return latencies


@pytest.fixture
def small_queues(monkeypatch):
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", str(QUEUE))
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", "1000")


@pytest.mark.parametrize("mode", ["refused", "black_hole"])
def test_requests_complete_and_drops_are_counted(mode, sdk, small_queues, black_hole, capsys):
    if mode == "refused":
        address = f"127.0.0.1:{closed_port()}"
        endpoint = f"http://{address}"
    else:
        address, endpoint = black_hole.address, black_hole.endpoint
    handle = sdk(otlp_endpoint=endpoint, fluent_address=address, log_queue_size=QUEUE)
    state = lifecycle.current()
    traces_before, logs_before = _drops("traces"), _drops("logs")
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))

    latencies = _hammer(client, 400)

    if mode == "black_hole":
        # The exporter thread is stuck in a send that will never be answered, and yet all 400
        # requests above completed: nothing on the request path waits for it.
        deadline = time.monotonic() + 10
        while state.processor._idle.is_set() and time.monotonic() < deadline:  # noqa: SLF001 - the test reads the SDK's internal state on purpose
            time.sleep(0.01)
        assert not state.processor._idle.is_set(), "span exporter should be blocked on the black hole"  # noqa: SLF001 - the test reads the SDK's internal state on purpose
        # A forward-protocol peer that never reads is only noticed once the kernel's socket buffers
        # (megabytes on loopback) are full: push enough bytes to fill them.
        for index in range(3000):
            logger.info("filler {} {}", index, "x" * 4000)
        deadline = time.monotonic() + 15
        while _drops("logs") == logs_before and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(state.processor._queue) <= QUEUE  # noqa: SLF001 - memory stays bounded
    assert state.shipper.queued <= QUEUE
    assert _drops("traces") - traces_before > 0
    assert _drops("logs") - logs_before > 0
    assert sum(1 for line in handle.lines() if line["message"].startswith("item ")) == 400  # stdout unaffected
    with capsys.disabled():
        print(f"\n[{mode}] 400 requests: median {statistics.median(latencies) * 1e3:.2f} ms, "
              f"p99 {sorted(latencies)[395] * 1e3:.2f} ms; drops traces="
              f"{_drops('traces') - traces_before:.0f} logs={_drops('logs') - logs_before:.0f}")


@pytest.mark.parametrize("mode", ["refused", "black_hole"])
def test_shutdown_is_bounded_when_backends_hang(mode, sdk, small_queues, black_hole):
    if mode == "refused":
        address = f"127.0.0.1:{closed_port()}"
        endpoint = f"http://{address}"
    else:
        address, endpoint = black_hole.address, black_hole.endpoint
    sdk(otlp_endpoint=endpoint, fluent_address=address, log_queue_size=QUEUE)
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    _hammer(client, 50)
    for index in range(50):
        logger.info("pending {}", index)
    outcome: list[bool] = []
    closer = threading.Thread(target=lambda: outcome.append(instrumentation.shutdown(timeout=1.0)), daemon=True)
    closer.start()
    closer.join(20)  # a liveness bound, far above the 1 s budget: this fails only if shutdown hangs
    assert not closer.is_alive(), "shutdown() did not return while the backends hang"
    assert outcome == [False]  # it reports that not everything was delivered


def test_delivery_resumes_when_the_backends_come_back(sdk, small_queues):
    otlp_port, fluent_port = closed_port(), closed_port()
    sdk(otlp_endpoint=f"http://127.0.0.1:{otlp_port}", fluent_address=f"127.0.0.1:{fluent_port}")
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    traces_before, logs_before = _drops("traces"), _drops("logs")
    client.get("/items/1")
    deadline = time.monotonic() + 15
    while (_drops("traces") == traces_before or _drops("logs") == logs_before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _drops("traces") > traces_before and _drops("logs") > logs_before  # the outage was noticed
    otlp, fluent = OtlpReceiver(otlp_port), FluentReceiver(fluent_port)
    try:
        client.get("/items/2")
        otlp.wait_for(lambda spans: any(s.attributes.get("url.path") == "/items/2" for s in spans))
        fluent.wait_for(lambda records: any(r.get("message") == "item 2" for r in records))
    finally:
        otlp.stop()
        fluent.stop()
