"""Catalogs that used to build into silent alerting now give an alert or a located error: a latency
threshold the service does not export, a target that vanished from discovery, 5xx folded into the SDK's
overflow series, names that collide after camel-casing, and the self-alert without a self-scrape."""

from __future__ import annotations

from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from typer.testing import CliRunner

from bongsu.build import BuildOptions
from bongsu.catalog import parse_catalog
from bongsu.cli import app
from bongsu.scrape_config import prometheus_config
from alert_rules import buckets, generate
from instrumentation.red import ADVISED_BUCKETS

from tests.rules.conftest import alert_rules_in, options, promtool_test

LATENCY = """
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: api
    team: web
    histogram_buckets: [0.3]
    metrics_sample: api-metrics.txt
    slos:
      - {name: latency, sli: http_latency, threshold: 300ms, objective: 99}
"""


def _recorded_metrics(extra: tuple[float, ...]) -> str:
    """/metrics as the SDK's histogram writes it (prometheus-client, the SDK's buckets plus `extra`)."""
    registry = CollectorRegistry()
    histogram = Histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.",
                          ["http_request_method", "http_route", "http_response_status_code"],
                          buckets=tuple(sorted({*ADVISED_BUCKETS, *extra})), registry=registry)
    histogram.labels("GET", "/items", "200").observe(5.0)
    return generate_latest(registry).decode()


def test_a_threshold_the_service_does_not_export_fails_check_located(tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(LATENCY)
    (tmp_path / "api-metrics.txt").write_text(_recorded_metrics(()))  # started without extra_buckets
    catalog = parse_catalog(LATENCY, str(catalog_file))
    (problem,) = buckets.problems(catalog)
    assert problem.startswith(f"{catalog_file}: services[0].slos[0].threshold: 300ms is not among the buckets api "
                              "exports (api-metrics.txt: 0.005s")
    (tmp_path / "api-metrics.txt").write_text(_recorded_metrics((0.3,)))
    assert buckets.problems(catalog) == []


def test_bongsu_check_reports_the_missing_bucket(tmp_path: Path, monkeypatch) -> None:
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(LATENCY)
    (tmp_path / "api-metrics.txt").write_text(_recorded_metrics(()))
    monkeypatch.setenv("BONGSU_RUNBOOKS_DIR", str(tmp_path))  # runbook findings are not the point here
    result = CliRunner().invoke(app, ["check", "--catalog", str(catalog_file)])
    assert result.exit_code != 0
    assert "services[0].slos[0].threshold: 300ms is not among the buckets api exports" in result.output


def test_a_missing_threshold_bucket_alerts_per_latency_slo(tmp_path: Path) -> None:
    catalog = parse_catalog(LATENCY.replace("    metrics_sample: api-metrics.txt\n", ""))
    generate(catalog, options(tmp_path))
    (rule,) = [r for r in alert_rules_in(tmp_path / "prometheus" / "rules" / "bongsu-api.yaml")
               if r["alert"] == "ApiMetricsAbsent" and r["labels"].get("slo") == "latency"]
    assert 'le=~"0\\\\.3"' in rule["expr"] and rule["labels"]["team"] == "web"
    result = promtool_test(tmp_path / "prometheus" / "tests" / "bongsu-api.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    tests = yaml.safe_load((tmp_path / "prometheus" / "tests" / "bongsu-api.test.yaml").read_text())["tests"]
    assert any(t["name"] == "ApiMetricsAbsent: the latency SLO's threshold bucket is not exported" for t in tests)


def test_a_target_missing_from_discovery_pages(tmp_path: Path) -> None:
    catalog = parse_catalog(LATENCY.replace("    metrics_sample: api-metrics.txt\n", ""))
    generate(catalog, options(tmp_path))
    (rule,) = [r for r in alert_rules_in(tmp_path / "prometheus" / "rules" / "bongsu-api.yaml")
               if r["expr"] == 'absent(up{job="api"})']
    assert rule["alert"] == "ApiTargetDown" and rule["labels"]["severity"] == "page"
    tests = yaml.safe_load((tmp_path / "prometheus" / "tests" / "bongsu-api.test.yaml").read_text())["tests"]
    (absent,) = [t for t in tests if "no target discovered" in t["name"]]
    assert absent["alert_rule_test"][0]["exp_alerts"][0]["exp_labels"]["cause"] == "no_target"


def test_5xx_folded_into_overflow_count_against_availability(built: Path, tmp_path: Path) -> None:
    """Half the traffic lands in the SDK's overflow series: the 5m error ratio is 0.5, not 0."""
    overflow = 'job="payments", http_request_method="__overflow__", http_route="__overflow__", ' \
               'http_response_status_code="__overflow__"'
    test = {"rule_files": [str(built / "prometheus" / "rules" / "bongsu-payments.yaml")],
            "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [
                {"series": 'http_server_request_duration_seconds_count{job="payments", http_response_status_code="200"}',
                 "values": "0+60x20"},
                {"series": "http_server_request_duration_seconds_count{" + overflow + "}", "values": "0+60x20"}],
                "promql_expr_test": [{
                    "expr": 'slo:sli_error:ratio_rate5m{service="payments", slo="availability"}', "eval_time": "20m",
                    "exp_samples": [{"labels": 'slo:sli_error:ratio_rate5m{service="payments", slo="availability"}',
                                     "value": 0.5}]}]}]}
    path = tmp_path / "overflow.test.yaml"
    path.write_text(yaml.safe_dump(test))
    result = promtool_test(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_colliding_derived_names_are_located_errors(tmp_path: Path) -> None:
    head = 'slack: {default_channel: "#alerts"}\nteams: [{name: web, slack_channel: "#web"}]\nservices:\n'
    cases = {
        "camel": ("  - {name: order-api, team: web}\n  - {name: order_api, team: web}\n",
                  "services[1].name: service 'order_api' derives the alert name and runbook 'OrderApiTargetDown', "
                  "which service 'order-api' at services[0].name derives too"),
        "kubernetes": ("  - {name: order-api, team: web}\n  - {name: order_api, team: web}\n",
                       "derives the Kubernetes object 'bongsu-order-api', which service 'order-api'"),
        "slo": ("  - {name: order, team: web, slos: [{name: api-availability, sli: http_availability, objective: 99}]}\n"
                "  - {name: order-api, team: web, slos: [{name: availability, sli: http_availability, objective: 99}]}\n",
                "services[1].slos[0].name: SLO 'availability' of service 'order-api' derives the alert name and "
                "runbook 'OrderApiAvailabilityBudgetBurn', which SLO 'api-availability' of service 'order' at "
                "services[0].slos[0].name derives too"),
        "reserved": ("  - {name: handwritten, team: web}\n",
                     "services[0].name: service 'handwritten' derives the Kubernetes object 'bongsu-handwritten', "
                     "which the hand-written rules' PrometheusRule derives too"),
    }
    for name, (services, words) in cases.items():
        catalog = tmp_path / f"{name}.yaml"
        catalog.write_text(head + services)
        result = CliRunner().invoke(app, ["build", "--catalog", str(catalog), "--out", str(tmp_path / "out")])
        assert result.exit_code == 2, (name, result.output)
        assert f"{catalog}: " in result.output and words in " ".join(result.output.split()), (name, result.output)


def test_every_build_scrapes_prometheus_for_its_self_alert(tmp_path: Path, catalog) -> None:
    jobs = {job["job_name"]: job for job in prometheus_config(catalog, BuildOptions(out=tmp_path))["scrape_configs"]}
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["127.0.0.1:9090"]}]
    custom = BuildOptions(out=tmp_path, targets={"prometheus": ["prom:9090"]})
    jobs = {job["job_name"]: job for job in prometheus_config(catalog, custom)["scrape_configs"]}
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["prom:9090"]}]
