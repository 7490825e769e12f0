"""SDK test fixtures: real receivers on loopback, an `sdk` factory that initialises the SDK for one
test and shuts it down afterwards, and a `provider` (a fresh SDK TracerProvider with a user's
exporter and processor) for tests that inject it with `instrument_asgi(..., tracer_provider=...)`
instead of re-initialising the process."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import REGISTRY

import instrumentation
from tests.sdk.receivers import BlackHole, FluentReceiver, OtlpReceiver


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def fluent() -> Iterator[FluentReceiver]:
    receiver = FluentReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.stop()


@pytest.fixture
def echo() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """An HTTP server on loopback that records the headers of every GET it answers (204)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server's handler API requires
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


class Sdk:
    def __init__(self) -> None:
        self.logs = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line.strip()]


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Sdk]]:
    """`sdk(service_name=..., **init options)`; stdout JSON logs are captured in `.logs`."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "BONGSU_FLUENT_ADDRESS",
                 "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME",
                 "OTEL_RESOURCE_ATTRIBUTES", "PROMETHEUS_MULTIPROC_DIR", "BONGSU_METRICS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    instrumentation.shutdown(timeout=2)

    def start(service_name: str = "payments", **options: Any) -> Sdk:
        handle = Sdk()
        options.setdefault("log_stream", handle.logs)
        options.setdefault("shutdown_timeout", 2.0)
        instrumentation.init(service_name=service_name, **options)
        return handle

    yield start
    instrumentation.shutdown(timeout=2)


def sample(name: str, **labels: str) -> float:
    """Current value of one sample in the default registry (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Run `code` in a fresh interpreter (the SDK and its metrics are per process); fail with its stderr."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"subprocess failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result.stdout


class UserProcessor:
    """A user's own SpanProcessor, as anyone would write one: records what it is shown."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[Any] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started.append(span.name)

    def _on_ending(self, span: Any) -> None:
        pass

    def on_end(self, span: Any) -> None:
        self.ended.append(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@pytest.fixture
def provider() -> Iterator[Any]:
    """A fresh SDK TracerProvider with a user-added InMemorySpanExporter and processor, for
    `instrument_asgi(app, tracer_provider=...)`: no process singleton is re-initialised."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.memory = InMemorySpanExporter()  # type: ignore[attr-defined]
    tracer_provider.user = UserProcessor()  # type: ignore[attr-defined]
    tracer_provider.add_span_processor(SimpleSpanProcessor(tracer_provider.memory))  # type: ignore[attr-defined]
    tracer_provider.add_span_processor(tracer_provider.user)  # type: ignore[attr-defined]
    yield tracer_provider
    tracer_provider.shutdown()


_GLOBAL_MEMORY: list[Any] = []


@pytest.fixture
def global_memory(sdk: Callable[..., Sdk]) -> Any:
    """An InMemorySpanExporter added once, the standard way, to the global provider `init()` uses;
    cleared for each test."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not _GLOBAL_MEMORY:
        sdk()
        exporter = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
        _GLOBAL_MEMORY.append(exporter)
        instrumentation.shutdown(timeout=2)
    _GLOBAL_MEMORY[0].clear()
    return _GLOBAL_MEMORY[0]
