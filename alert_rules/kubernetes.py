"""The same rules and routing as prometheus-operator objects: PrometheusRule and AlertmanagerConfig.

One PrometheusRule per service (and one for the hand-written rules), so no object nears the 1 MiB
limit; one AlertmanagerConfig calling the in-cluster notifier with the token from its Secret.
"""

from __future__ import annotations

import re
from pathlib import Path

from bongsu.catalog import (
    KUBERNETES_NOTIFIER,
    KUBERNETES_NOTIFIER_PORT,
    KUBERNETES_WEBHOOK_TOKEN_KEY,
    Catalog,
    Service,
    kubernetes_object_name,
)

from alert_rules import render
from alert_rules.custom import Handwritten

RULES_FILE = "prometheusrules.yaml"
ROUTING_FILE = "alertmanagerconfig.yaml"
NOTIFIER_URL = f"http://{KUBERNETES_NOTIFIER}:{KUBERNETES_NOTIFIER_PORT}/alertmanager"
_PART_OF = {"app.kubernetes.io/part-of": "bongsu"}
_MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"(.*)"$')


def prometheus_rule(name: str, groups: list[dict]) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": kubernetes_object_name(name), "labels": dict(_PART_OF)},
            "spec": {"groups": groups}}


def _matchers(texts: list[str]) -> list[dict]:
    """`team="payments"` -> {name: team, value: payments, matchType: "="} (the CRD's structured form)."""
    found = []
    for text in texts:
        match = _MATCHER.match(text)
        if not match:
            raise ValueError(f"cannot express Alertmanager matcher {text!r} in an AlertmanagerConfig")
        name, operator, value = match.groups()
        found.append({"name": name, "value": value, "matchType": operator})
    return found


def _route(route: dict) -> dict:
    converted: dict = {}
    keys = {"receiver": "receiver", "group_by": "groupBy", "group_wait": "groupWait",
            "group_interval": "groupInterval", "repeat_interval": "repeatInterval"}
    for key, value in route.items():
        if key in keys:
            converted[keys[key]] = value
        elif key == "matchers":
            converted["matchers"] = _matchers(value)
        elif key == "routes":
            converted["routes"] = [_route(child) for child in value]
    return converted


def alertmanager_config_object(catalog: Catalog, config: dict) -> dict:
    """The generated alertmanager.yml, re-expressed for the operator and pointed at the in-cluster notifier."""
    webhook = {"url": NOTIFIER_URL, "sendResolved": True, "maxAlerts": 0,
               "httpConfig": {"authorization": {"type": "Bearer", "credentials": {
                   "name": KUBERNETES_NOTIFIER, "key": KUBERNETES_WEBHOOK_TOKEN_KEY}}}}
    receivers = [{"name": receiver["name"], "webhookConfigs": [dict(webhook)]} for receiver in config["receivers"]]
    inhibit = [{"sourceMatch": _matchers(rule["source_matchers"]),
                "targetMatch": _matchers(rule["target_matchers"]), "equal": rule["equal"]}
               for rule in config["inhibit_rules"]]
    return {"apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig",
            "metadata": {"name": "bongsu-alerting", "labels": dict(_PART_OF)},
            "spec": {"route": _route(config["route"]), "receivers": receivers, "inhibitRules": inhibit}}


def rule_document(service: Service, groups: list[dict]) -> str:
    """The service's PrometheusRule as one document of RULES_FILE (rendered once per shape: bongsu/shapes.py)."""
    return render.document(prometheus_rule(f"bongsu-{service.name}", groups))


def write(catalog: Catalog, rule_documents: list[str], handwritten: Handwritten,
          folder: Path, header: str, routing_config: dict) -> list[Path]:
    """RULES_FILE from the services' `rule_document`s and the hand-written rules; the AlertmanagerConfig."""
    folder.mkdir(parents=True, exist_ok=True)
    if handwritten.rule_files:
        rule_documents = [*rule_documents, render.document(prometheus_rule("bongsu-handwritten", handwritten.groups()))]
    rules_path = folder / RULES_FILE
    rules_path.write_text(render.dump_all([], header) + "".join(rule_documents))
    routing_path = folder / ROUTING_FILE
    routing_path.write_text(render.dump(alertmanager_config_object(catalog, routing_config),
                                        header + "\nNeeds the Secret " + KUBERNETES_NOTIFIER + " with key "
                                        + KUBERNETES_WEBHOOK_TOKEN_KEY + " (see docs/alerting.md)."))
    return [rules_path, routing_path]
