"""The generated configs in the real servers: Alertmanager delivering to the webhook with the bearer token,
routing by team and applying the inhibitions; Prometheus firing the page from live prometheus-client metrics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram, start_http_server

from bongsu import processes, scrape_config
from bongsu.catalog import Catalog, Duration
from alert_rules import generate

from tests.rules.conftest import TOKEN, options, tool

FAST = {name: Duration.parse(value) for name, value in (
    ("page_group_wait", "1s"), ("page_group_interval", "2s"), ("ticket_group_wait", "1s"),
    ("ticket_group_interval", "2s"))}


class Webhook:
    """A stand-in for the notifier's webhook endpoint: records every POST with its Authorization header."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                 "payload": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alertmanager"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[tuple[str, dict, dict]]:
        """(receiver, group labels, alert labels) for every alert in every delivery so far."""
        return [(r["payload"]["receiver"], r["payload"]["groupLabels"], alert["labels"])
                for r in list(self.received) for alert in r["payload"]["alerts"]]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


def _start(child: processes.Child) -> processes.Child:
    child.start()
    try:
        child.wait_healthy(60)
    except processes.ProcessError as exc:
        child.stop()
        pytest.fail(str(exc), pytrace=False)
    return child


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"{what}: not seen within {timeout:.0f}s")


def _alert(**labels: str) -> dict:
    now = datetime.now(timezone.utc)
    return {"labels": labels, "annotations": {"summary": "test"},
            "startsAt": now.isoformat(), "endsAt": (now + timedelta(minutes=10)).isoformat()}


def test_alertmanager_routes_by_team_with_bearer_auth_and_inhibits(tmp_path: Path, catalog: Catalog,
                                                                   webhook: Webhook) -> None:
    tool("alertmanager")
    out = tmp_path / "out"
    generate(catalog, options(out, notifier_url=webhook.url, **FAST))
    port = processes.free_port()
    am = _start(processes.alertmanager(out / "alertmanager" / "alertmanager.yml", port, tmp_path / "am",
                                       tmp_path / "alertmanager.log"))
    try:
        slo_page = {"alertname": "PaymentsAvailabilityBudgetBurn", "service": "payments", "team": "payments",
                    "slo": "availability", "severity": "page", "long_window": "1h", "short_window": "5m"}
        slo_ticket = {**slo_page, "severity": "ticket", "long_window": "1d", "short_window": "2h"}
        # Another SLO of the same service: the availability page does not inhibit it.
        other_ticket = {"alertname": "PaymentsLatencyBudgetBurn", "service": "payments", "team": "payments",
                        "slo": "latency", "severity": "ticket", "long_window": "3d", "short_window": "6h"}
        down = {"alertname": "OrdersTargetDown", "service": "orders", "team": "storefront", "severity": "page"}
        blind = {"alertname": "OrdersAvailabilityBudgetBurn", "service": "orders", "team": "storefront",
                 "slo": "availability", "severity": "page", "long_window": "1h", "short_window": "5m"}
        teamless = {"alertname": "BongsuRuleEvaluationFailures", "service": "prometheus", "severity": "ticket"}
        alerts = [slo_page, slo_ticket, other_ticket, down, blind, teamless]
        httpx.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=[_alert(**a) for a in alerts],
                   timeout=10).raise_for_status()
        _wait(lambda: len(webhook.alerts()) >= 4, 60, "four deliverable alerts at the webhook")
        time.sleep(3)  # a group_interval more, so a wrongly delivered inhibited alert would show up too
        assert {r["authorization"] for r in webhook.received} == {f"Bearer {TOKEN}"}
        assert {r["path"] for r in webhook.received} == {"/alertmanager"}
        delivered = {(receiver, labels["alertname"], labels["severity"]) for receiver, _, labels in webhook.alerts()}
        assert delivered == {("team-payments", "PaymentsAvailabilityBudgetBurn", "page"),
                             ("team-payments", "PaymentsLatencyBudgetBurn", "ticket"),
                             ("team-storefront", "OrdersTargetDown", "page"),
                             ("default", "BongsuRuleEvaluationFailures", "ticket")}
        for receiver, group_labels, labels in webhook.alerts():
            assert group_labels.get("team") == labels.get("team")  # the notifier picks the channel from it
        # The page inhibits the ticket of the same SLO; the service being down inhibits its SLO page.
        states = httpx.get(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=10).json()
        inhibited = {(a["labels"]["alertname"], a["labels"]["severity"]) for a in states
                     if a["status"]["inhibitedBy"]}
        assert inhibited == {("PaymentsAvailabilityBudgetBurn", "ticket"), ("OrdersAvailabilityBudgetBurn", "page")}
    finally:
        am.stop()


def _serve_payments_metrics(stop: threading.Event) -> int:
    """payments' request histogram as prometheus-client exposes it (the SDK's library), at ~20 req/s:
    every request fails with a 500 and takes 300ms (above the 250ms latency threshold)."""
    registry = CollectorRegistry()
    duration = Histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.",
                         ["http_request_method", "http_route", "http_response_status_code"], registry=registry,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0))
    port = processes.free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)

    def traffic() -> None:
        while not stop.wait(0.05):
            duration.labels("POST", "/charges", "500").observe(0.3)
        server.shutdown()

    threading.Thread(target=traffic, daemon=True).start()
    return port


def test_prometheus_fires_the_page_tier_from_live_metrics(tmp_path: Path, catalog: Catalog) -> None:
    tool("prometheus")
    stop = threading.Event()
    metrics_port = _serve_payments_metrics(stop)
    out = tmp_path / "out"
    build = options(out, targets={"payments": [f"127.0.0.1:{metrics_port}"]},
                    scrape_interval=Duration.parse("1s"), evaluation_interval=Duration.parse("1s"))
    scrape_config.generate(catalog, build)
    generate(catalog, build)
    port = processes.free_port()
    prometheus = _start(processes.prometheus(out / "prometheus" / "prometheus.yml", port, tmp_path / "data",
                                             tmp_path / "prometheus.log"))
    started = time.monotonic()
    try:
        def firing(alertname: str) -> list[dict]:
            alerts = httpx.get(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return [a for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"]

        pages = _wait(lambda: [a for a in firing("PaymentsAvailabilityBudgetBurn")
                               if a["labels"]["long_window"] == "1h"], 90, "the 1h/5m availability page")
        assert time.monotonic() - started < 90
        labels = pages[0]["labels"]
        assert (labels["severity"], labels["team"], labels["short_window"]) == ("page", "payments", "5m")
        assert "1000.00x faster than sustainable" in pages[0]["annotations"]["description"]
        # Every request is slower than 250ms: prometheus-client's le="0.25" is matched, the latency SLO burns too.
        _wait(lambda: firing("PaymentsLatencyBudgetBurn"), 30, "the latency burn from the le=\"0.25\" bucket")
        result = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", timeout=10, params={
            "query": 'slo:sli_error:ratio_rate5m{service="payments"}'}).json()["data"]["result"]
        assert {r["metric"]["slo"]: float(r["value"][1]) for r in result} == {"availability": 1.0, "latency": 1.0}
    finally:
        stop.set()
        prometheus.stop()
