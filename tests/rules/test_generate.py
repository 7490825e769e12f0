"""What `bongsu build` writes for alerting: rules, labels, annotations, tiers, routing, token handling."""

from __future__ import annotations

import stat
from pathlib import Path

from bongsu.catalog import TIERS, Catalog, Duration, error_ratio_record, request_rate_record
from alert_rules import generate
from alert_rules.rules import alert_names

from tests.rules.conftest import TOKEN, alert_rules_in, load_yaml, options


def test_rule_files_per_service_and_handwritten(built: Path, catalog: Catalog) -> None:
    names = sorted(p.name for p in (built / "prometheus" / "rules").glob("*.yaml"))
    assert names == sorted([*(f"bongsu-{s.name}.yaml" for s in catalog.services),
                            "handwritten-bongsu-self.rules.yaml"])
    tests = sorted(p.name for p in (built / "prometheus" / "tests").glob("*.yaml"))
    assert tests == sorted([*(f"bongsu-{s.name}.test.yaml" for s in catalog.services),
                            *(f"bongsu-{s.name}.slos.test.yaml" for s in catalog.services),
                            "handwritten-bongsu-self.test.yaml"])
    # The copied hand-written test points at the copied rules.
    assert load_yaml(built / "prometheus" / "tests" / "handwritten-bongsu-self.test.yaml")["rule_files"] == [
        "../rules/handwritten-bongsu-self.rules.yaml"]


def test_every_slo_has_one_rule_per_tier_labelled_with_its_windows(built: Path, catalog: Catalog) -> None:
    for service, slo in catalog.slos():
        rules = [r for r in alert_rules_in(built / "prometheus" / "rules" / f"bongsu-{service.name}.yaml")
                 if r["alert"] == service.slo_alert(slo)]
        assert [(r["labels"]["long_window"], r["labels"]["short_window"]) for r in rules] == [
            (str(t.long), str(t.short)) for t in TIERS]
        for rule, tier in zip(rules, TIERS):
            factor = tier.factor(slo.window)
            assert rule["labels"] == {"severity": tier.severity, "team": service.team, "service": service.name,
                                      "slo": slo.name, "long_window": str(tier.long),
                                      "short_window": str(tier.short)}
            assert f"{error_ratio_record(tier.long)}{{" in rule["expr"]
            assert f"{error_ratio_record(tier.short)}{{" in rule["expr"]
            assert rule["expr"].count(f" > {factor:g}\n") == 2
            assert f"{request_rate_record(tier.long)}{{" in rule["expr"]  # low-traffic gate on the long window


def test_demo_factors_are_the_workbooks(catalog: Catalog) -> None:
    slo = catalog.service("payments").slos[0]
    assert [t.factor(slo.window) for t in TIERS] == [14.4, 6, 3, 1]


def test_every_alert_has_routing_labels_and_annotations(built: Path, catalog: Catalog) -> None:
    seen = set()
    for service in catalog.services:
        for rule in alert_rules_in(built / "prometheus" / "rules" / f"bongsu-{service.name}.yaml"):
            seen.add(rule["alert"])
            assert rule["labels"]["service"] == service.name
            assert rule["labels"]["team"] == service.team
            assert rule["labels"]["severity"] in ("page", "ticket")
            annotations = rule["annotations"]
            burn = "long_window" in rule["labels"]
            assert set(annotations) == {"summary", "description", "runbook_url", "dashboard_url"}
            assert annotations["runbook_url"] == (
                f"https://github.com/bongsu-dev/bongsu/blob/main/runbooks/{rule['alert']}.md")
            assert annotations["dashboard_url"].startswith("http://localhost:3000/d/bongsu-")
            if "slo" in rule["labels"]:
                assert annotations["dashboard_url"].endswith(service.slo_dashboard_uid)
            if burn:
                assert "error budget" in annotations["description"]
                assert 'query "slo:error_budget_remaining:ratio{' in annotations["description"]
                assert "{{ $value" in annotations["description"] and "faster than sustainable" in (
                    annotations["description"])
    assert seen == set(alert_names(catalog))


def test_description_reads_in_plain_words(built: Path) -> None:
    rule = next(r for r in alert_rules_in(built / "prometheus" / "rules" / "bongsu-payments.yaml")
                if r["labels"].get("long_window") == "1h" and r["labels"].get("slo") == "availability")
    assert rule["annotations"]["description"] == (
        "payments is burning the 30-day error budget of its availability SLO (99.9% of requests answered "
        'without a 5xx) {{ $value | printf "%.2f" }}x faster than sustainable over the last 1h, and still '
        "above the threshold over the last 5m. This page fires above 14.4x, which spends 2% of the budget "
        'within 1h. Error budget left over the last 30d: {{ with query "slo:error_budget_remaining:ratio'
        '{service=\\"payments\\",slo=\\"availability\\"}" }}{{ . | first | value | printf "%.3f" }}'
        "{{ else }}unknown{{ end }} (1 = untouched, 0 = spent).")


def test_latency_sli_reads_the_threshold_bucket_in_either_spelling(built: Path) -> None:
    groups = load_yaml(built / "prometheus" / "rules" / "bongsu-orders.yaml")["groups"]
    latency = next(g for g in groups if g["name"] == "bongsu-slo-orders-latency")
    assert 'le=~"0\\\\.5"' in latency["rules"][0]["expr"]


def test_custom_selector_replaces_job(tmp_path: Path) -> None:
    from bongsu.catalog import parse_catalog

    catalog = parse_catalog("""
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: api
    team: web
    selector: {namespace: prod, app: api-server}
    slos: [{name: availability, sli: http_availability, objective: 99}]
""")
    generate(catalog, options(tmp_path))
    text = (tmp_path / "prometheus" / "rules" / "bongsu-api.yaml").read_text()
    assert 'app="api-server",namespace="prod"' in text and 'job="api"' not in text


def test_min_request_rate_zero_drops_the_gate(tmp_path: Path) -> None:
    from bongsu.catalog import parse_catalog

    catalog = parse_catalog("""
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: api
    team: web
    slos: [{name: availability, sli: http_availability, objective: 99, min_request_rate: 0}]
""")
    generate(catalog, options(tmp_path))
    rules = alert_rules_in(tmp_path / "prometheus" / "rules" / "bongsu-api.yaml")
    assert not any("slo:requests:" in r["expr"] for r in rules)


def test_alertmanager_routes_per_team_with_timing_from_options(tmp_path: Path, catalog: Catalog) -> None:
    generate(catalog, options(tmp_path, page_group_wait=Duration.parse("5s"),
                              page_group_interval=Duration.parse("15s"),
                              ticket_repeat_interval=Duration.parse("2h")))
    config = load_yaml(tmp_path / "alertmanager" / "alertmanager.yml")
    route = config["route"]
    assert route["receiver"] == "default"
    assert route["group_by"] == ["alertname", "team", "service", "slo"]
    teams = {r["receiver"]: r for r in route["routes"] if "receiver" in r}
    assert set(teams) == {"team-payments", "team-storefront"}
    page, ticket = teams["team-payments"]["routes"]
    assert page["matchers"] == ['severity="page"'] and page["group_wait"] == "5s" and page["group_interval"] == "15s"
    assert ticket["matchers"] == ['severity="ticket"'] and ticket["repeat_interval"] == "2h"
    for receiver in config["receivers"]:
        (hook,) = receiver["webhook_configs"]
        assert hook["url"] == "http://127.0.0.1:9/alertmanager" and hook["send_resolved"] is True
        assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials_file": "webhook-token"}
    inhibit = config["inhibit_rules"]
    assert {"source_matchers": ['severity="page"', 'slo=~".+"'],
            "target_matchers": ['severity="ticket"', 'slo=~".+"'], "equal": ["service", "slo"]} in inhibit
    assert {"source_matchers": ['alertname="PaymentsTargetDown"'],
            "target_matchers": ['service="payments"', 'slo=~".+"'], "equal": ["service"]} in inhibit


def test_token_is_in_a_private_file_never_in_the_config(tmp_path: Path, catalog: Catalog) -> None:
    generate(catalog, options(tmp_path))
    token_file = tmp_path / "alertmanager" / "webhook-token"
    assert token_file.read_text().strip() == TOKEN
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != token_file:
            assert TOKEN not in path.read_text(errors="replace"), path


def test_without_a_token_a_random_one_is_made_and_kept(tmp_path: Path, catalog: Catalog) -> None:
    generate(catalog, options(tmp_path, webhook_token=None))
    first = (tmp_path / "alertmanager" / "webhook-token").read_text().strip()
    assert len(first) >= 32
    generate(catalog, options(tmp_path, webhook_token=None))
    assert (tmp_path / "alertmanager" / "webhook-token").read_text().strip() == first
    other = tmp_path / "other"
    generate(catalog, options(other, webhook_token=None))
    assert (other / "alertmanager" / "webhook-token").read_text().strip() != first


def test_route_tests_cover_every_team_and_the_default(built: Path, catalog: Catalog) -> None:
    cases = load_yaml(built / "alertmanager" / "route-tests.yaml")
    receivers = {case["receiver"] for case in cases}
    assert receivers == {"default", *(t.receiver for t in catalog.teams)}
    for team in catalog.teams:
        severities = {c["labels"]["severity"] for c in cases if c["receiver"] == team.receiver}
        assert severities == {"page", "ticket"}


def test_a_service_dropped_from_the_catalog_leaves_no_rules_behind(tmp_path: Path, catalog: Catalog) -> None:
    from bongsu.catalog import parse_catalog

    generate(catalog, options(tmp_path))
    assert (tmp_path / "prometheus" / "rules" / "bongsu-orders.yaml").exists()
    smaller = parse_catalog("""
slack: {default_channel: "#alerts"}
teams: [{name: payments, slack_channel: "#payments-oncall"}]
services:
  - {name: payments, team: payments, slos: [{name: availability, sli: http_availability, objective: 99.9}]}
""")
    generate(smaller, options(tmp_path))
    assert sorted(p.name for p in (tmp_path / "prometheus" / "rules").iterdir()) == [
        "bongsu-payments.yaml", "handwritten-bongsu-self.rules.yaml"]
    assert sorted(p.name for p in (tmp_path / "prometheus" / "tests").iterdir()) == [
        "bongsu-payments.slos.test.yaml", "bongsu-payments.test.yaml", "handwritten-bongsu-self.test.yaml"]
