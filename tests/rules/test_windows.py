"""Tiers that are right for any SLO window: windows scale with the window (factors stay the Workbook's),
no tier fires while the budget would last the window, and catalog overrides of tiers are honoured.
Proven with the generated tests under the real promtool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bongsu.catalog import MIN_WINDOW, Duration, parse_catalog, scaled_tiers
from alert_rules import generate

from tests.rules.conftest import alert_rules_in, load_yaml, options, promtool_test

SHORT_WINDOWS = """
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: api
    team: web
    slos:
      - {name: week, sli: http_availability, objective: 99.9, window: 7d}
      - {name: three-days, sli: http_latency, threshold: 500ms, objective: 99, window: 3d}
  - name: tuned
    team: web
    slos:
      - name: availability
        sli: http_availability
        objective: 99.5
        window: 28d
        tiers:
          - {severity: page, long_window: 2h, short_window: 10m, factor: 10}
          - {severity: ticket, long_window: 2d, factor: 1.5}
"""


@pytest.mark.parametrize(("window", "expected"), [
    ("30d", ["1h/5m", "6h/30m", "1d/2h", "3d/6h"]),
    ("28d", ["56m/5m", "336m/28m", "1344m/112m", "4032m/336m"]),
    ("7d", ["14m/5m", "84m/7m", "336m/28m", "1008m/84m"]),
    ("3d", ["6m/5m", "36m/5m", "144m/12m", "432m/36m"]),
])
def test_windows_scale_with_the_slo_window_and_factors_stay(window: str, expected: list[str]) -> None:
    tiers = scaled_tiers(Duration.parse(window))
    assert [t.windows for t in tiers] == expected
    assert [t.factor() for t in tiers] == [14.4, 6, 3, 1]
    # Every tier spends the Workbook's share of the budget (up to the minute rounding and the floor).
    for tier, share in zip(tiers, (0.02, 0.05, 0.10, 0.10)):
        assert tier.budget_consumed(Duration.parse(window)) == pytest.approx(share, rel=0.2)
        assert tier.short >= MIN_WINDOW


def test_7d_and_3d_slos_never_fire_inside_the_budget(tmp_path: Path) -> None:
    """The generated tests hold (promtool), every tier needs a burn above 1x, and a sustained burn the
    budget survives (0.95x) and one just under each tier are among them, expecting that tier silent."""
    catalog = parse_catalog(SHORT_WINDOWS)
    generate(catalog, options(tmp_path))
    test_file = tmp_path / "prometheus" / "tests" / "bongsu-api.slos.test.yaml"
    result = promtool_test(test_file)
    assert result.returncode == 0, result.stdout + result.stderr
    tests = {t["name"]: t for t in load_yaml(test_file)["tests"]}
    rules = alert_rules_in(tmp_path / "prometheus" / "rules" / "bongsu-api.yaml")
    for slo in catalog.service("api").slos:
        alert = catalog.service("api").slo_alert(slo)
        inside = tests[f"{alert}: sustained burn 0.95x, the budget lasts the window -> nothing fires"]
        assert inside["alert_rule_test"][0]["exp_alerts"] == []
        for tier in slo.burn_rate_tiers:
            assert tier.factor() >= 1
            (rule,) = [r for r in rules if r["alert"] == alert and r["labels"]["long_window"] == str(tier.long)]
            assert rule["expr"].count(f" > {tier.factor():g}\n") == 2
            below = [t for name, t in tests.items() if name.startswith(f"{alert}: sustained burn")
                     and f"just below the {tier.windows} {tier.severity} tier" in name]
            assert len(below) == 1
            fired = {a["exp_labels"]["long_window"] for a in below[0]["alert_rule_test"][0]["exp_alerts"]}
            assert str(tier.long) not in fired


def test_catalog_tiers_replace_the_defaults(tmp_path: Path) -> None:
    catalog = parse_catalog(SHORT_WINDOWS)
    generate(catalog, options(tmp_path))
    rules = alert_rules_in(tmp_path / "prometheus" / "rules" / "bongsu-tuned.yaml")
    assert [(r["labels"]["severity"], r["labels"]["long_window"], r["labels"]["short_window"]) for r in rules
            if "long_window" in r["labels"]] == [("page", "2h", "10m"), ("ticket", "2d", "4h")]
    records = [r["record"] for g in load_yaml(tmp_path / "prometheus" / "rules" / "bongsu-tuned.yaml")["groups"]
               for r in g["rules"] if "record" in r and r["record"].startswith("slo:sli_error:ratio_rate")]
    assert records == [f"slo:sli_error:ratio_rate{w}" for w in ("10m", "2h", "4h", "2d", "28d")]  # + the budget
    page = next(r for r in rules if r["labels"].get("long_window") == "2h")
    assert "This page fires above 10x, which spends 3% of the budget within 2h." in page["annotations"]["description"]
    result = promtool_test(tmp_path / "prometheus" / "tests" / "bongsu-tuned.slos.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_docs_show_the_tables_for_7d_28d_and_30d() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "alerting.md").read_text()
    for window in ("7d", "28d", "30d"):
        for tier in scaled_tiers(Duration.parse(window)):
            assert f"| {window} | {tier.severity} | {tier.long} / {tier.short} | {tier.factor():g} |" in text, (
                window, tier)


def test_overrides_survive_yaml_round_trip() -> None:
    spec = yaml.safe_load(SHORT_WINDOWS)["services"][1]["slos"][0]["tiers"]
    assert spec[1] == {"severity": "ticket", "long_window": "2d", "factor": 1.5}
