"""`bongsu build` output for dashboards and `bongsu check`'s dashboard validation, on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bongsu import links
from bongsu.generator import BuildOptions
from bongsu.catalog import (
    OVERVIEW_DASHBOARD_UID,
    PLATFORM_FOLDER_UID,
    SELF_HEALTH_DASHBOARD_UID,
    TIERS,
    Catalog,
    parse_catalog,
)
from dashboards import build
from dashboards.promql import Interval, expand, metric_names


def _built(catalog: Catalog, out: Path) -> dict[str, dict]:
    build.generate(catalog, BuildOptions(out=out))
    return {p.stem: json.loads(p.read_text()) for p in (out / "grafana" / "dashboards").glob("*.json")}


def _panels(model: dict) -> dict[str, dict]:
    return {p["title"]: p for p in model["panels"] if p["type"] != "row"}


def test_every_dashboard_is_written_flat_under_its_stable_uid(catalog: Catalog, out: Path) -> None:
    models = _built(catalog, out)
    expected = {OVERVIEW_DASHBOARD_UID, SELF_HEALTH_DASHBOARD_UID, "shop-checkout-flow",
                *(e.dashboard_uid for e in catalog.experiments),
                *(uid for s in catalog.services for uid in (s.red_dashboard_uid, s.slo_dashboard_uid))}
    assert set(models) == expected
    assert all(model["uid"] == uid for uid, model in models.items())
    assert {"bongsu-red-payments", "bongsu-slo-orders", "bongsu-experiment-checkout-button"} <= set(models)


def test_only_time_series_panels_with_units_on_the_grid(catalog: Catalog, out: Path) -> None:
    for uid, model in _built(catalog, out).items():
        for panel in model["panels"]:
            assert panel["type"] in ("timeseries", "row"), (uid, panel["title"])
            assert 0 <= panel["gridPos"]["x"] and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            if panel["type"] == "timeseries":
                assert panel["fieldConfig"]["defaults"]["unit"], (uid, panel["title"])


def test_red_dashboard_has_variables_annotations_and_links(catalog: Catalog, out: Path) -> None:
    red = _built(catalog, out)["bongsu-red-payments"]
    variables = {v["name"]: v for v in red["templating"]["list"]}
    assert set(variables) == {"datasource", "service", "route"}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["route"]["query"].startswith("label_values(http_server_request_duration_seconds_count")
    alerts = [a for a in red["annotations"]["list"] if a.get("expr", "").startswith("ALERTS")]
    assert len(alerts) == 1
    service = catalog.service("payments")
    for name in (service.target_down_alert, *(service.slo_alert(s) for s in service.slos)):
        assert name in alerts[0]["expr"]
    urls = {link.get("url") for link in red["links"]}
    assert {f"/d/{service.slo_dashboard_uid}", f"/d/{OVERVIEW_DASHBOARD_UID}"} <= urls
    panels = _panels(red)
    assert {"Request rate by route", "Error ratio (5xx) by route", "Latency p50 by route", "Latency p90 by route",
            "Latency p99 by route", "Active requests", "CPU (share of one core)", "Resident memory"} == set(panels)
    latency = panels["Latency p99 by route"]["fieldConfig"]["defaults"]
    assert latency["unit"] == "s"
    assert [s["value"] for s in latency["thresholds"]["steps"]] == [None, 0.25]  # payments' latency SLO


def test_slo_burn_rate_panels_draw_each_tier_threshold(catalog: Catalog, out: Path) -> None:
    slo_model = _built(catalog, out)["bongsu-slo-payments"]
    panels = _panels(slo_model)
    availability = catalog.service("payments").slos[0]
    for tier in TIERS:
        burn = panels[f"availability: burn rate {tier.windows} ({tier.severity}, {tier.factor(availability.window):g}x)"]
        steps = burn["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[-1]["value"] == tier.factor(availability.window)
        assert burn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"
        exprs = [t["expr"] for t in burn["targets"]]
        assert any(f"slo:sli_error:ratio_rate{tier.long}{{" in e for e in exprs)
        assert any(f"slo:sli_error:ratio_rate{tier.short}{{" in e for e in exprs)
    assert {"availability: alerts", "latency: alerts", "latency: SLI vs objective"} <= set(panels)


def test_folders_per_team_in_the_provisioning_files(catalog: Catalog, out: Path) -> None:
    _built(catalog, out)
    providers = yaml.safe_load((out / "grafana/provisioning/dashboards/bongsu.yaml").read_text())["providers"]
    folder_of = {Path(p["options"]["path"]).stem: p["folderUid"] for p in providers}
    assert folder_of["bongsu-red-payments"] == "bongsu-team-payments"
    assert folder_of["bongsu-slo-orders"] == "bongsu-team-storefront"
    assert folder_of["bongsu-experiment-checkout-button"] == "bongsu-team-storefront"
    assert folder_of[OVERVIEW_DASHBOARD_UID] == PLATFORM_FOLDER_UID
    assert len({p["name"] for p in providers}) == len(providers) == len(folder_of)
    datasources = yaml.safe_load((out / "grafana/provisioning/datasources/bongsu.yaml").read_text())
    assert datasources["datasources"][0]["uid"] == "bongsu-prometheus"
    assert datasources["datasources"][0]["jsonData"]["timeInterval"] == "5s"


def test_check_passes_on_the_demo_catalog(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))
    findings = list(build.check(catalog, BuildOptions(out=out)))
    assert len(findings) == 10  # 8 dashboards, linked UIDs, provisioning
    assert [f for f in findings if not f.ok] == []


def _edit(out: Path, uid: str, change) -> None:
    path = out / "grafana" / "dashboards" / f"{uid}.json"
    model = json.loads(path.read_text())
    change(model)
    path.write_text(json.dumps(model))


def _failures(catalog: Catalog, out: Path) -> str:
    return "\n".join(f"{f.check}: {f.detail}" for f in build.check(catalog, BuildOptions(out=out)) if not f.ok)


def test_check_fails_a_query_that_does_not_parse(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))
    _edit(out, "bongsu-red-orders", lambda m: m["panels"][1]["targets"][0].update(expr="sum(rate(foo[5m])"))
    failures = _failures(catalog, out)
    assert "bongsu-red-orders" in failures and "is not valid PromQL" in failures
    assert "panel 'Request rate by route' query A" in failures


def test_check_fails_a_metric_nobody_produces(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))
    _edit(out, "bongsu-overview", lambda m: m["panels"][1]["targets"][0].update(
        expr="sum(rate(http_requests_total[5m]))"))
    failures = _failures(catalog, out)
    assert "reads http_requests_total" in failures


def test_check_fails_an_unknown_variable_and_a_graph_panel(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))

    def change(model: dict) -> None:
        model["panels"][1]["targets"][0]["expr"] = 'up{job="$team"}'
        model["panels"][2]["type"] = "graph"

    _edit(out, "bongsu-self-health", change)
    failures = _failures(catalog, out)
    assert "$team is not a variable of this dashboard" in failures
    assert "'graph' panel" in failures


def test_check_fails_a_panel_title_used_twice(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))
    _edit(out, "bongsu-red-payments", lambda m: m["panels"][2].update(title=m["panels"][1]["title"]))
    assert "panel title 'Request rate by route' is used 2 times" in _failures(catalog, out)


def test_check_fails_when_an_alert_links_to_a_missing_dashboard(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))
    (out / "grafana" / "dashboards" / "bongsu-slo-payments.json").unlink()
    rules = out / "prometheus" / "rules"
    rules.mkdir(parents=True)
    (rules / "extra.yaml").write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{
        "alert": "Ghost", "expr": "vector(1)",
        "annotations": {"dashboard_url": "http://localhost:3000/d/bongsu-ghost?var-service=x"}}]}]}))
    failures = _failures(catalog, out)
    assert "bongsu-slo-payments (wanted by alert annotations of payments, a link on bongsu-red-payments" in failures
    # Alert rules are another part's output: the spine checks that the two meet.
    linked = "\n".join(f.detail for f in links.check(catalog, BuildOptions(out=out)) if not f.ok)
    assert "bongsu-ghost (wanted by the dashboard_url of alert Ghost)" in linked
    assert "bongsu-slo-payments (wanted by the dashboard_url" not in linked  # the rules file names only Ghost


def test_check_fails_a_dashboard_without_a_provider(catalog: Catalog, out: Path) -> None:
    build.generate(catalog, BuildOptions(out=out))
    path = out / "grafana/provisioning/dashboards/bongsu.yaml"
    providers = yaml.safe_load(path.read_text())
    providers["providers"] = [p for p in providers["providers"] if p["name"] != "bongsu-overview"]
    path.write_text(yaml.safe_dump(providers))
    assert "no provider for bongsu-overview.json" in _failures(catalog, out)


def test_handwritten_dashboard_is_built_only_when_its_services_exist(out: Path) -> None:
    lonely = parse_catalog("""
slack: {default_channel: "#alerts"}
teams: [{name: core, slack_channel: "#core"}]
services: [{name: api, team: core}]
""")
    models = _built(lonely, out)
    assert "shop-checkout-flow" not in models
    assert {"bongsu-red-api", "bongsu-slo-api", OVERVIEW_DASHBOARD_UID, SELF_HEALTH_DASHBOARD_UID} == set(models)
    assert [f for f in build.check(lonely, BuildOptions(out=out)) if not f.ok] == []


def test_rebuild_removes_dashboards_dropped_from_the_catalog(catalog: Catalog, out: Path) -> None:
    stale = out / "grafana" / "dashboards" / "bongsu-red-gone.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    _built(catalog, out)
    assert not stale.exists()


def test_grafana_builtins_expand_like_grafana() -> None:
    interval = Interval(step_s=30, range_s=3600, scrape_interval_s=15)
    assert interval.rate_interval_s == 60  # max(30 + 15, 4 * 15)
    text = expand('rate(x{route=~"$route"}[$__rate_interval]) [[route]] ${route}', {"route": ".*"}, interval)
    assert text == 'rate(x{route=~".*"}[1m]) .* .*'
    with pytest.raises(KeyError):
        expand("up{job=\"$nope\"}", {}, interval)
    assert metric_names('sum(rate(a_total[5m])) / on() group_left() {__name__="b"}') == {"a_total", "b"}
