"""A real Prometheus 2.42 scrapes a uvicorn-served instrumented app, in OpenMetrics, with exemplars."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

from bongsu.binaries import MissingBinary, find
from bongsu.processes import Child, free_port, prometheus

ROOT = Path(__file__).resolve().parents[2]


def _query(base: str, expr: str) -> list[dict]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


def test_prometheus_scrapes_red_metrics_and_exemplars(tmp_path: Path):
    try:
        find("prometheus")
    except MissingBinary as exc:
        pytest.fail(str(exc), pytrace=False)
    app_port, prom_port = free_port(), free_port()
    app = Child("payments", [sys.executable, "-m", "uvicorn", "tests.sdk.apps:payments_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(app_port), "--no-access-log"],
                tmp_path / "app.log", health_url=f"http://127.0.0.1:{app_port}/livez", cwd=ROOT,
                env={"PYTHONPATH": str(ROOT)})
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: payments
    static_configs: [{{targets: ["127.0.0.1:{app_port}"]}}]
""")
    prom = prometheus(config, prom_port, tmp_path / "data", tmp_path / "prometheus.log")
    prom.argv = [*prom.argv, "--enable-feature=exemplar-storage"]
    base = f"http://127.0.0.1:{prom_port}"
    try:
        app.start().wait_healthy(60)
        for index in range(5):
            assert httpx.post(f"http://127.0.0.1:{app_port}/charge/o-{index}", timeout=5).status_code == 200
        prom.start().wait_healthy(60)
        expr = ('http_server_request_duration_seconds_count{job="payments",http_route="/charge/{order_id}",'
                'http_request_method="POST",http_response_status_code="200"}')
        deadline = time.monotonic() + 30
        while not _query(base, expr) and time.monotonic() < deadline:
            time.sleep(0.5)
        result = _query(base, expr)
        assert result and float(result[0]["value"][1]) == 5
        assert _query(base, 'up{job="payments"}')[0]["value"][1] == "1"
        assert _query(base, 'target_info{job="payments",service_name="payments",service_version="1.2.3"}')
        assert _query(base, 'http_server_active_requests{job="payments",http_request_method="POST"}')
        assert _query(base, 'process_resident_memory_bytes{job="payments"}')
        now = time.time()
        exemplars = httpx.get(f"{base}/api/v1/query_exemplars", params={
            "query": 'http_server_request_duration_seconds_bucket{job="payments"}',
            "start": now - 300, "end": now + 60}, timeout=5).json()["data"]
        trace_ids = {e["labels"]["trace_id"] for series in exemplars for e in series["exemplars"]}
        assert trace_ids and all(len(t) == 32 for t in trace_ids)
    finally:
        prom.stop()
        app.stop()
