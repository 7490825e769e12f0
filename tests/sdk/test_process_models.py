"""Fork safety (gunicorn/uvicorn workers forked after init) and prometheus-client multiprocess mode."""

from __future__ import annotations

from tests.sdk.conftest import run_python

FORK_SCRIPT = """
import io, os
from loguru import logger
from opentelemetry import trace
import instrumentation

state = instrumentation.init(service_name="forky", log_stream=io.StringIO())
tracer = trace.get_tracer("t")
with tracer.start_as_current_span("before-fork"):
    logger.info("parent before fork")
pid = os.fork()
if pid == 0:
    from instrumentation import lifecycle
    with tracer.start_as_current_span("in-child"):
        logger.info("child says hi")
    ok = instrumentation.shutdown(timeout=5)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
with tracer.start_as_current_span("parent-after"):
    logger.info("parent after fork")
print(os.waitstatus_to_exitcode(status), instrumentation.shutdown(timeout=5))
"""


def test_a_forked_worker_exports_with_its_own_instance_id(otlp, fluent):
    out = run_python(FORK_SCRIPT, env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
                                       "BONGSU_FLUENT_ADDRESS": fluent.address, "OTEL_BSP_SCHEDULE_DELAY": "50"})
    assert out.split() == ["0", "True"]  # the child flushed everything before exiting
    spans = otlp.wait_for(lambda s: {x.name for x in s} >= {"before-fork", "in-child", "parent-after"})
    by_name = {s.name: s for s in spans}
    parent_id = by_name["before-fork"].resource["service.instance.id"]
    child_id = by_name["in-child"].resource["service.instance.id"]
    assert by_name["parent-after"].resource["service.instance.id"] == parent_id
    assert child_id != parent_id
    assert len([s for s in spans if s.name == "before-fork"]) == 1  # the child did not re-export the parent's queue
    records = fluent.wait_for(lambda r: {"child says hi", "parent after fork"} <= {x["message"] for x in r})
    child = next(r for r in records if r["message"] == "child says hi")
    assert child["service.instance.id"] == child_id
    assert child["trace_id"] == by_name["in-child"].trace_id


MULTIPROCESS_SCRIPT = """
import io, os, sys
import instrumentation
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

async def hello(request):
    return PlainTextResponse("hi")

instrumentation.init(service_name="multi", log_stream=io.StringIO())
client = TestClient(instrumentation.instrument_asgi(Starlette(routes=[Route("/hello", hello)])))
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 0):
    client.get("/hello")
if os.environ.get("SCRAPE"):
    print(client.get("/metrics").text)
"""


def test_multiprocess_mode_aggregates_workers(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    import subprocess
    import sys

    for count in (3, 4):  # two "workers", each its own process writing to the shared directory
        subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT, str(count)], check=True, capture_output=True,
                       env={**__import__("os").environ, **env})
    text = run_python(MULTIPROCESS_SCRIPT, env={**env, "SCRAPE": "1"})
    line = next(x for x in text.splitlines() if x.startswith("http_server_request_duration_seconds_count{")
                and 'http_route="/hello"' in x)
    assert float(line.rsplit(" ", 1)[1]) == 7
    assert "trace_id=" not in text  # no exemplars in multiprocess mode (prometheus-client limit)


def test_multiprocess_dir_must_exist(tmp_path):
    """A missing directory is prometheus-client's start-up error; it must name the variable."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "import instrumentation, io; "
                             "instrumentation.init(service_name='x', log_stream=io.StringIO())"],
                            capture_output=True, text=True,
                            env={**__import__("os").environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "nope")})
    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr
