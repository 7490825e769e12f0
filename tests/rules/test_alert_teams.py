"""Every alert carries `team`, Bongsu's own alerts included: the catalog names their owner."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bongsu.build import BuildOptions
from bongsu.catalog import CatalogError, parse_catalog
from alert_rules.build import generate

BASE = """
slack: {default_channel: '#alerts'}
teams:
  - {name: shop, slack_channel: '#shop'}
  - {name: sre, slack_channel: '#sre'}
services:
  - name: web
    team: shop
    slos: [{name: availability, sli: http_availability, objective: 99.9}]
"""


def _alerts(out: Path) -> dict[str, dict]:
    found = {}
    for path in (out / "prometheus" / "rules").glob("*.yaml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.update({rule["alert"]: rule.get("labels", {}) for rule in group["rules"] if "alert" in rule})
    return found


@pytest.mark.parametrize("extra, owner", [("platform_team: sre\n", "sre"), ("", "shop")])
def test_every_alert_has_a_team_and_bongsus_own_go_to_the_platform_team(tmp_path, extra, owner):
    catalog = parse_catalog(BASE + extra)
    generate(catalog, BuildOptions(out=tmp_path, webhook_token="t"))
    alerts = _alerts(tmp_path)
    assert alerts and all(labels.get("team") for labels in alerts.values()), alerts
    assert alerts["BongsuRuleEvaluationFailures"]["team"] == owner
    prometheus_rule = [d for d in yaml.safe_load_all((tmp_path / "kubernetes" / "prometheusrules.yaml").read_text())
                       if d and d["metadata"]["name"] == "bongsu-handwritten"][0]
    own = [r for g in prometheus_rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert own and all(r["labels"]["team"] == owner for r in own)
    test_file = yaml.safe_load((tmp_path / "prometheus" / "tests" / "handwritten-bongsu-self.test.yaml").read_text())
    expected = [a for t in test_file["tests"] for c in t["alert_rule_test"] for a in c["exp_alerts"]]
    assert expected and all(a["exp_labels"]["team"] == owner for a in expected)


def test_an_unknown_platform_team_is_named():
    with pytest.raises(CatalogError, match="platform_team: unknown team 'ops'"):
        parse_catalog(BASE + "platform_team: ops\n")
