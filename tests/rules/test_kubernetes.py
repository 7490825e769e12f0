"""PrometheusRule and AlertmanagerConfig validated against the prometheus-operator CRD schemas in
../shared/schemas/ (beside the clone here and in CI)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from jsonschema import Draft7Validator
import yaml

from bongsu.catalog import KUBERNETES_NOTIFIER, KUBERNETES_WEBHOOK_TOKEN_KEY, Catalog

from tests.rules.conftest import TOKEN, alert_rules_in, load_yaml

SCHEMAS = Path(__file__).resolve().parents[2] / ".." / "shared" / "schemas" / "prometheus-operator"


class _CrdLoader(yaml.SafeLoader):
    """PyYAML reads a bare `=` (a matchType enum value) as its obsolete `value` tag; keep it a string."""


_CrdLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def crd_schema(kind_file: str, version: str) -> dict:
    path = SCHEMAS / kind_file
    if not path.exists():
        pytest.fail(f"CRD schema {path.resolve()} not found: these tests need the shared/ folder beside the "
                    "repository clone (shared/schemas/prometheus-operator/)", pytrace=False)
    crd = yaml.load(path.read_text(), Loader=_CrdLoader)
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    return served["schema"]["openAPIV3Schema"]


def validate(obj: dict, schema: dict) -> None:
    """Validate without checking the schema itself: the CRDs use Go regex syntax (`^(?i)...`) that
    Python's `re` rejects, in fields Bongsu never sets."""
    error = jsonschema.exceptions.best_match(Draft7Validator(schema).iter_errors(obj))
    if error is not None:
        raise error


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_prometheusrules_match_the_crd_and_the_rule_files(built: Path, catalog: Catalog) -> None:
    schema = crd_schema("monitoring.coreos.com_prometheusrules.yaml", "v1")
    objects = documents(built / "kubernetes" / "prometheusrules.yaml")
    assert [o["metadata"]["name"] for o in objects] == [
        *(f"bongsu-{s.name}" for s in catalog.services), "bongsu-handwritten"]
    for obj in objects:
        assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
        validate(obj, schema)
    for service, obj in zip(catalog.services, objects):
        assert obj["spec"]["groups"] == load_yaml(built / "prometheus" / "rules" / f"bongsu-{service.name}.yaml")["groups"]
    handwritten = [r["alert"] for g in objects[-1]["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert handwritten == [r["alert"] for r in alert_rules_in(built / "prometheus" / "rules" / "handwritten-bongsu-self.rules.yaml")]


def test_alertmanagerconfig_matches_the_crd_and_the_routing(built: Path, catalog: Catalog) -> None:
    schema = crd_schema("monitoring.coreos.com_alertmanagerconfigs.yaml", "v1alpha1")
    (obj,) = documents(built / "kubernetes" / "alertmanagerconfig.yaml")
    validate(obj, schema)
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
    schema = crd_schema("monitoring.coreos.com_prometheusrules.yaml", "v1")
    obj = documents(built / "kubernetes" / "prometheusrules.yaml")[0]
    del obj["spec"]["groups"][0]["rules"][0]["expr"]
    with pytest.raises(jsonschema.ValidationError, match="expr"):
        validate(obj, schema)
    obj = documents(built / "kubernetes" / "prometheusrules.yaml")[0]
    obj["spec"]["groups"][0]["rules"][0]["for"] = "one minute"
    with pytest.raises(jsonschema.ValidationError):
        validate(obj, schema)
