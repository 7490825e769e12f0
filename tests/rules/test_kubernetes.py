"""PrometheusRule and AlertmanagerConfig validated against the prometheus-operator models that
cloudcoil-models-prometheus-operator ships (the same check `bongsu check` runs)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bongsu.catalog import KUBERNETES_NOTIFIER, KUBERNETES_WEBHOOK_TOKEN_KEY, Catalog
from bongsu.deploy.manifests import object_problems

from tests.rules.conftest import TOKEN, alert_rules_in, load_yaml


def validate(obj: dict) -> None:
    assert object_problems(obj) == []


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_prometheusrules_match_the_crd_and_the_rule_files(built: Path, catalog: Catalog) -> None:
    objects = documents(built / "kubernetes" / "prometheusrules.yaml")
    assert [o["metadata"]["name"] for o in objects] == [
        *(f"bongsu-{s.name}" for s in catalog.services), "bongsu-handwritten"]
    for obj in objects:
        assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
        validate(obj)
    for service, obj in zip(catalog.services, objects):
        assert obj["spec"]["groups"] == load_yaml(built / "prometheus" / "rules" / f"bongsu-{service.name}.yaml")["groups"]
    handwritten = [r["alert"] for g in objects[-1]["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert handwritten == [r["alert"] for r in alert_rules_in(built / "prometheus" / "rules" / "handwritten-bongsu-self.rules.yaml")]


def test_alertmanagerconfig_matches_the_crd_and_the_routing(built: Path, catalog: Catalog) -> None:
    (obj,) = documents(built / "kubernetes" / "alertmanagerconfig.yaml")
    validate(obj)
    spec = obj["spec"]
    assert spec["route"]["receiver"] == "default"
    assert spec["route"]["groupBy"] == ["alertname", "team", "service", "slo"]
    teams = {r["receiver"]: r for r in spec["route"]["routes"] if "receiver" in r}
    assert teams["team-payments"]["matchers"] == [{"name": "team", "value": "payments", "matchType": "="}]
    assert {r["name"] for r in spec["receivers"]} == {"default", *(t.receiver for t in catalog.teams)}
    for receiver in spec["receivers"]:
        (hook,) = receiver["webhookConfigs"]
        assert hook["url"] == "http://bongsu-notifier:9099/alertmanager"
        assert hook["httpConfig"]["authorization"]["credentials"] == {
            "name": KUBERNETES_NOTIFIER, "key": KUBERNETES_WEBHOOK_TOKEN_KEY}
    assert {"sourceMatch": [{"name": "severity", "value": "page", "matchType": "="},
                            {"name": "slo", "value": ".+", "matchType": "=~"}],
            "targetMatch": [{"name": "severity", "value": "ticket", "matchType": "="},
                            {"name": "slo", "value": ".+", "matchType": "=~"}],
            "equal": ["service", "slo"]} in spec["inhibitRules"]
    assert TOKEN not in (built / "kubernetes" / "alertmanagerconfig.yaml").read_text()


def test_a_broken_object_is_rejected_by_the_schema(built: Path) -> None:
    """The validation is not vacuous: a rule without `expr` and a bad duration fail it."""
    obj = documents(built / "kubernetes" / "prometheusrules.yaml")[0]
    del obj["spec"]["groups"][0]["rules"][0]["expr"]
    assert "spec.groups[0].rules[0].expr: Field required" in object_problems(obj)
    obj = documents(built / "kubernetes" / "prometheusrules.yaml")[0]
    obj["spec"]["groups"][0]["rules"][0]["for"] = "one minute"
    assert any(p.startswith("spec.groups[0].rules[0].for:") for p in object_problems(obj))
