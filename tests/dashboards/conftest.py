"""Fixtures for the dashboards tests: a real Prometheus scraping a small app that exposes the contract
metrics (docs/contracts.md), and a local stand-in for Grafana's HTTP API."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, start_http_server

from bongsu.binaries import MissingBinary, find
from bongsu.catalog import Catalog, load_catalog
from bongsu.processes import free_port, prometheus
from tests.dashboards.fake_grafana import FakeGrafana


@dataclass
class Scraped:
    """A running Prometheus that scrapes `payments`-shaped metrics once a second."""

    url: str
    catalog: Catalog


def _contract_app(stop: threading.Event) -> tuple[int, object]:
    """Serve a payments-like service's SDK metrics on a free port and keep them moving."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    duration = Histogram("http_server_request_duration_seconds", "request duration",
                         ["http_request_method", "http_route", "http_response_status_code"], registry=registry,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
    active = Gauge("http_server_active_requests", "in flight", ["http_request_method"], registry=registry)
    exposures = Counter("bongsu_experiment_exposures", "exposures", ["experiment", "variant"], registry=registry)
    conversions = Counter("bongsu_experiment_conversions", "conversions", ["experiment", "variant"],
                          registry=registry)
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)

    def traffic() -> None:
        rng = random.Random(7)
        while not stop.is_set():
            for _ in range(20):
                route = rng.choice(["/charges", "/charges/{charge_id}"])
                status = "500" if rng.random() < 0.05 else "201"
                duration.labels("POST", route, status).observe(rng.expovariate(1 / 0.04))
                variant = rng.choice(["control", "one-click"])
                exposures.labels("checkout-button", variant).inc()
                if rng.random() < (0.3 if variant == "control" else 0.36):
                    conversions.labels("checkout-button", variant).inc()
            active.labels("POST").set(rng.randint(0, 5))
            stop.wait(0.2)

    threading.Thread(target=traffic, daemon=True, name="contract-traffic").start()
    return port, server


@pytest.fixture(scope="session")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    try:
        find("prometheus")
    except MissingBinary as exc:
        pytest.fail(str(exc), pytrace=False)
    stop = threading.Event()
    app_port, server = _contract_app(stop)
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "payments", "static_configs": [{"targets": [f"127.0.0.1:{app_port}"]}]}],
    }))
    port = free_port()
    child = prometheus(config, port, work / "data", work / "prometheus.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        child.wait_healthy(timeout=60)
        _wait_for_rates(url)
        yield Scraped(url, load_catalog())
    finally:
        child.stop()
        stop.set()
        server.shutdown()


def _wait_for_rates(url: str, timeout: float = 60) -> None:
    """rate() needs two samples inside its window: wait until one answers."""
    deadline = time.monotonic() + timeout
    query = 'sum(rate(http_server_request_duration_seconds_count{job="payments"}[10s]))'
    while time.monotonic() < deadline:
        result = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()["data"]["result"]
        if result and float(result[0]["value"][1]) > 0:
            return
        time.sleep(0.5)
    pytest.fail(f"Prometheus at {url} saw no request rate within {timeout:.0f}s", pytrace=False)


@pytest.fixture()
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana(tokens={"editor-token": "Editor", "viewer-token": "Viewer"}) as fake:
        yield fake


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"
