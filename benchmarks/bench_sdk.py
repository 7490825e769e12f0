"""SDK overhead benchmark: Bongsu's full instrumentation against the bare app, OTel's ASGI
instrumentation and prometheus-fastapi-instrumentator, interleaved in one process; the business
counter helper against raw prometheus-client; peak RSS under a high-cardinality load; request
latency with the trace and log backends up, refusing, or black-holing.

Run:  .venv/bin/python benchmarks/bench_sdk.py            (about 2-4 minutes)
      .venv/bin/python benchmarks/bench_sdk.py --quick    (a smoke run, figures not meaningful)

Requests are direct ASGI calls (no sockets), timed in process CPU time (all threads: the export
threads' work counts), so the figures are the middleware's own cost per request, and the other
tenants of a shared machine disturb them much less than they disturb wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# --- an OTLP/HTTP sink in its own process, so receiving costs no CPU time in the measured one ---
def serve_sink(port_file: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the name http.server's handler API requires
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a measured child exits with os._exit mid-request by design

    server = Server(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def start_sink(tmp: Path) -> tuple[subprocess.Popen, str]:
    port_file = tmp / "sink.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, __file__, "--sink", str(port_file)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the OTLP sink did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


def black_hole() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


# --- ASGI driving ---------------------------------------------------------------------------
async def _receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict) -> None:
    return None


def _scope(path: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"bench"), (b"user-agent", b"bench")], "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000)}


async def drive(app: object, paths: list[str]) -> float:
    """CPU seconds of this process (all its threads, so export threads count) for the batch: on a
    shared machine, wall time mostly measures the other tenants."""
    return (await drive_split(app, paths))[0]


async def drive_split(app: object, paths: list[str], flush: Callable[[], object] | None = None
                      ) -> tuple[float, float]:
    """(process CPU, request-thread CPU) seconds for the batch; the difference is background work.
    `flush` (the variant's span processor's force_flush) runs inside the measurement, so the export of
    the batch's own spans is counted in it, not in whichever variant runs when a batch fills up."""
    started, thread_started = time.process_time(), time.thread_time()
    for path in paths:
        await app(_scope(path), _receive, _send)  # type: ignore[operator]
    if flush is not None:
        flush()
    return time.process_time() - started, time.thread_time() - thread_started


def starlette_app(log: bool, enrich: bool = False) -> object:
    from loguru import logger
    from opentelemetry import trace
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def item(request):  # type: ignore[no-untyped-def]
        if enrich:  # what application code does with the request's span
            span = trace.get_current_span()
            span.set_attribute("order.id", request.path_params["item_id"])
            span.set_attribute("customer.tier", "gold")
        if log:
            logger.info("served item {}", request.path_params["item_id"])
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/items/{item_id}", item)])


# --- 1. per-request overhead, interleaved ---------------------------------------------------
def overhead(endpoint: str, rounds: int, batch: int) -> dict:
    import instrumentation
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from prometheus_client import CollectorRegistry
    from prometheus_fastapi_instrumentator import Instrumentator

    from opentelemetry import trace
    from opentelemetry.sdk.trace import SpanProcessor

    from instrumentation import tracing

    class UserProcessor(SpanProcessor):
        """A user's processor: looks at every span's start and end, as a tail sampler would."""

        def __init__(self) -> None:
            self.ended = 0

        def on_start(self, span, parent_context=None) -> None:  # type: ignore[no-untyped-def]
            span.set_attribute("deployment.region", "eu-1")

        def on_end(self, span) -> None:  # type: ignore[no-untyped-def]
            self.ended += 1

    devnull = open(os.devnull, "w")  # noqa: SIM115 - the JSON lines are written, then discarded
    state = instrumentation.init(service_name="bench", otlp_endpoint=endpoint, log_stream=devnull)
    variants: dict[str, object] = {"bare": starlette_app(log=False)}
    variants["bongsu"] = instrumentation.instrument_asgi(starlette_app(log=False))
    assert state.processor is not None
    flushes: dict[str, Callable[[], object]] = {"bongsu": state.processor.force_flush}
    # The same pipeline (Bongsu's bounded OTLP export) on a provider that also has a user processor;
    # the handler sets two attributes on the current span. With and without one log line, each with
    # its own provider and export queue.
    user_processors = []
    for name, log in (("bongsu_enriched", False), ("bongsu_enriched_log", True)):
        user_provider = TracerProvider(resource=state.resource, shutdown_on_exit=False)
        user_processor = tracing.bounded_processor(state.settings, state.spans.redactor)
        assert user_processor is not None
        user_processors.append(user_processor)
        user_provider.add_span_processor(user_processor)
        user_provider.add_span_processor(UserProcessor())
        variants[name] = instrumentation.instrument_asgi(starlette_app(log=log, enrich=True),
                                                         tracer_provider=user_provider)
        flushes[name] = user_processor.force_flush
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "bench-otel"}))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    variants["otel_asgi"] = OpenTelemetryMiddleware(starlette_app(log=False), tracer_provider=tracer_provider,
                                                    meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))
    flushes["otel_asgi"] = tracer_provider.force_flush
    instrumented = starlette_app(log=False)
    Instrumentator(registry=CollectorRegistry()).instrument(instrumented)
    variants["instrumentator"] = instrumented

    paths = [f"/items/{i}" for i in range(batch)]
    per_request: dict[str, list[float]] = {name: [] for name in variants}
    request_path: dict[str, list[float]] = {name: [] for name in variants}

    async def run() -> None:
        for name, app in variants.items():  # warm-up: imports, caches, first children
            await drive_split(app, paths, flushes.get(name))
        for _ in range(rounds):
            order = list(variants)
            random.shuffle(order)
            for name in order:
                total, on_thread = await drive_split(variants[name], paths, flushes.get(name))
                per_request[name].append(total / batch)
                request_path[name].append(on_thread / batch)

    asyncio.run(run())
    instrumentation.shutdown(timeout=5)
    for user_processor in user_processors:
        user_processor.shutdown()
    tracer_provider.shutdown()
    medians = {name: statistics.median(values) * 1e6 for name, values in per_request.items()}
    added = {name: medians[name] - medians["bare"] for name in medians if name != "bare"}
    thread_medians = {name: statistics.median(values) * 1e6 for name, values in request_path.items()}
    return {
        "rounds": rounds, "batch": batch, "median_us": medians, "added_us": added,
        "request_thread_added_us": {name: thread_medians[name] - thread_medians["bare"]
                                    for name in thread_medians if name != "bare"},
        "ratio_vs_otel_asgi": added["bongsu"] / added["otel_asgi"],
        "ratio_vs_instrumentator": added["bongsu"] / added["instrumentator"],
        "enriched_vs_otel_asgi": added["bongsu_enriched"] / added["otel_asgi"],
        "enriched_vs_instrumentator": added["bongsu_enriched"] / added["instrumentator"],
        "enriched_log_vs_instrumentator": added["bongsu_enriched_log"] / added["instrumentator"],
        "spread_us": {name: [min(v) * 1e6, max(v) * 1e6] for name, v in per_request.items()},
    }


# --- 2. the business counter helper against raw prometheus-client ---------------------------
def counter_helper(rounds: int, number: int) -> dict:
    from prometheus_client import CollectorRegistry, Counter

    import instrumentation

    raw = Counter("bench_raw_orders_total", "raw", ["result"], registry=CollectorRegistry())
    child = raw.labels("ok")
    helper = instrumentation.Counter("bench_helper_orders_total", "helper", labels=["result"],
                                     allowed={"result": ["ok", "failed"]})
    cases = {
        "raw_labels_kw_inc": lambda: raw.labels(result="ok").inc(),
        "raw_labels_inc": lambda: raw.labels("ok").inc(),
        "raw_child_inc": lambda: child.inc(),
        "helper_inc": lambda: helper.inc(result="ok"),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        order = list(cases)
        random.shuffle(order)
        for name in order:
            samples[name].append(timeit.timeit(cases[name], number=number, timer=time.process_time) / number)
    medians = {name: statistics.median(v) * 1e9 for name, v in samples.items()}
    return {"rounds": rounds, "number": number, "median_ns": medians,
            "ratio_helper_vs_raw_labels_kw": medians["helper_inc"] / medians["raw_labels_kw_inc"],
            "ratio_helper_vs_raw_labels": medians["helper_inc"] / medians["raw_labels_inc"],
            "ratio_helper_vs_raw_child": medians["helper_inc"] / medians["raw_child_inc"]}


# --- 3. peak RSS under 100k requests over 50k raw paths and random label values --------------
def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_child(variant: str, requests: int, distinct: int) -> None:
    """Runs in its own process; prints JSON with RSS before and after the load."""
    def rss_mb() -> float:
        return _status_mb("VmRSS")

    hole = black_hole()  # both backends black-holed: the queues must stay bounded
    app = starlette_app(log=variant == "bongsu")
    counter = None
    if variant == "bongsu":
        import instrumentation

        instrumentation.init(service_name="bench-memory", otlp_endpoint=f"http://127.0.0.1:{hole.getsockname()[1]}",
                             fluent_address=f"127.0.0.1:{hole.getsockname()[1]}", log_stream=open(os.devnull, "w"))
        app = instrumentation.instrument_asgi(app)
        counter = instrumentation.Counter("bench_customers_total", "per customer (a cardinality bomb)", ["customer"])
    rng = random.Random(7)
    # Half the raw paths match the /items/{item_id} template, half match nothing.
    paths = [f"/items/{i}" if i % 2 else f"/unknown/{i}/{rng.random():.12f}" for i in range(distinct)]
    start_rss = rss_mb()

    async def run() -> None:
        for index in range(requests):
            await app(_scope(paths[index % distinct]), _receive, _send)
            if counter is not None:
                counter.inc(customer=f"c{rng.randrange(10**9)}")

    asyncio.run(run())
    peak = _status_mb("VmHWM")  # not ru_maxrss: Linux carries that over from the forking parent
    result = {"variant": variant, "rss_after_imports_mb": start_rss, "peak_rss_mb": peak, "rss_end_mb": rss_mb()}
    if variant == "bongsu":
        from instrumentation import lifecycle

        state = lifecycle.current()
        result["span_queue"] = len(state.processor._queue)  # noqa: SLF001 - the test reads the SDK's internal state on purpose
        result["log_queue"] = state.shipper.queued
        result["http_series"] = state.red._guard.series  # noqa: SLF001 - the test reads the SDK's internal state on purpose
        result["customer_series"] = counter._guard.series  # noqa: SLF001 - the test reads the SDK's internal state on purpose
    print(json.dumps(result))
    os._exit(0)  # skip the bounded shutdown wait: the backends are black holes by design


def memory(requests: int, distinct: int) -> dict:
    results = {}
    for variant in ("bare", "bongsu", "bongsu", "bare"):  # alternate; keep each variant's larger peak
        out = subprocess.run([sys.executable, __file__, "--memory-child", variant, str(requests), str(distinct)],
                             capture_output=True, text=True, cwd=ROOT, timeout=600, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        if variant not in results or row["peak_rss_mb"] > results[variant]["peak_rss_mb"]:
            results[variant] = row
    results["peak_delta_mb"] = results["bongsu"]["peak_rss_mb"] - results["bare"]["peak_rss_mb"]
    return results


# --- 4. latency with the backends up, refusing and black-holing ----------------------------
def backend_child(mode: str, endpoint: str, rounds: int, batch: int) -> None:
    import instrumentation

    hole = black_hole()
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    refused_port = refused.getsockname()[1]
    refused.close()
    address = {"up": None, "refused": f"127.0.0.1:{refused_port}",
               "black_hole": f"127.0.0.1:{hole.getsockname()[1]}"}[mode]
    instrumentation.init(service_name="bench-backends", otlp_endpoint=endpoint if mode == "up" else f"http://{address}",
                         fluent_address=address, log_stream=open(os.devnull, "w"))
    app = instrumentation.instrument_asgi(starlette_app(log=True))
    paths = [f"/items/{i}" for i in range(batch)]
    latencies: list[float] = []

    async def run() -> None:
        await drive(app, paths)
        for _ in range(rounds):
            for path in paths:
                started = time.perf_counter()
                await app(_scope(path), _receive, _send)
                latencies.append(time.perf_counter() - started)

    asyncio.run(run())
    from prometheus_client import REGISTRY

    drops = {s.labels["signal"] + ":" + s.labels["reason"]: s.value
             for metric in REGISTRY.collect() if metric.name == "bongsu_sdk_dropped"
             for s in metric.samples if s.name.endswith("_total") and s.value}
    latencies.sort()
    print(json.dumps({"mode": mode, "p50_us": latencies[len(latencies) // 2] * 1e6,
                      "p90_us": latencies[int(len(latencies) * 0.9)] * 1e6,
                      "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6, "requests": len(latencies),
                      "drops": drops}))
    os._exit(0)


def backends(endpoint: str, rounds: int, batch: int) -> dict:
    runs: dict[str, list[dict]] = {}
    for mode in ("up", "refused", "black_hole", "black_hole", "refused", "up"):
        out = subprocess.run([sys.executable, __file__, "--backend-child", mode, endpoint, str(rounds), str(batch)],
                             capture_output=True, text=True, cwd=ROOT, timeout=600, check=True)
        runs.setdefault(mode, []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {mode: {"p50_us": statistics.median(r["p50_us"] for r in rows),
                   "p90_us": statistics.median(r["p90_us"] for r in rows),
                   "p99_us": statistics.median(r["p99_us"] for r in rows),
                   "requests_per_run": rows[0]["requests"], "drops_last_run": rows[-1]["drops"]}
            for mode, rows in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not the SDK")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--parts", default="overhead,counter,memory,backends",
                        help="comma-separated subset of: overhead, counter, memory, backends")
    parser.add_argument("--sink", help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--backend-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.sink)
        return
    if args.memory_child:
        variant, requests, distinct = args.memory_child
        memory_child(variant, int(requests), int(distinct))
        return
    if args.backend_child:
        mode, endpoint, rounds, batch = args.backend_child
        backend_child(mode, endpoint, int(rounds), int(batch))
        return

    import tempfile

    sizes = dict(rounds=5, batch=50, counter_rounds=5, number=2000, requests=2000, distinct=1000, b_rounds=2) \
        if args.quick else dict(rounds=40, batch=250, counter_rounds=30, number=20_000, requests=100_000,
                                distinct=50_000, b_rounds=12)
    with tempfile.TemporaryDirectory() as tmp:
        sink, endpoint = start_sink(Path(tmp))
        try:
            started = time.time()
            results = {"machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}}
            parts = {p.strip() for p in args.parts.split(",")}
            unknown = parts - {"overhead", "counter", "memory", "backends"}
            if unknown:
                raise SystemExit(f"--parts: unknown part(s) {sorted(unknown)}")
            sections = {"overhead": lambda: overhead(endpoint, sizes["rounds"], sizes["batch"]),
                        "counter": lambda: counter_helper(sizes["counter_rounds"], sizes["number"]),
                        "memory": lambda: memory(sizes["requests"], sizes["distinct"]),
                        "backends": lambda: backends(endpoint, sizes["b_rounds"], sizes["batch"])}
            for name, run in sections.items():
                if name in parts:
                    results[name] = run()
                    print(json.dumps({name: results[name]}, indent=1), flush=True)
            results["machine"]["load_avg_at_end"] = os.getloadavg()
            results["wall_s"] = time.time() - started
        finally:
            sink.terminate()
            sink.wait(10)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    print(f"done in {results['wall_s']:.0f}s")


if __name__ == "__main__":
    main()
