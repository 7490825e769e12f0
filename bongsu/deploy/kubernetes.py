"""DIR/kubernetes/: the notifier's objects, a ServiceMonitor per instrumented service, and Grafana
dashboard ConfigMaps for the sidecar, plus a kustomization that applies the whole folder.

The alert rules part writes its PrometheusRule and AlertmanagerConfig into the same folder earlier in
the build; this module packages files earlier generators wrote (dashboards) but never imports them.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from bongsu import conventions
from bongsu.catalog import (
    KUBERNETES_METRICS_PORT,
    KUBERNETES_NOTIFIER,
    KUBERNETES_NOTIFIER_PORT,
    KUBERNETES_SERVICE_LABEL,
    KUBERNETES_WEBHOOK_TOKEN_KEY,
    Catalog,
    Duration,
    Service,
)
from bongsu.errors import BongsuError
from bongsu.generator import BuildOptions
from bongsu.shapes import Specialiser

IMAGE_REPOSITORY = "ghcr.io/bongsu-dev/bongsu"
CATALOG_CONFIGMAP = "bongsu-catalog"
# The Secret key holding the notifier's shared store URL (postgresql://USER:PASSWORD@HOST:5432/DB).
NOTIFIER_STORE_KEY = conventions.NOTIFIER_STORE
NOTIFIER_REPLICAS = 2
# prometheus-operator's governing Services for the Prometheus and Alertmanager it runs.
OPERATOR_PROMETHEUS_URL = "http://prometheus-operated:9090"
OPERATOR_ALERTMANAGER_URL = "http://alertmanager-operated:9093"
# The Grafana sidecar (kiwigrid k8s-sidecar, as in the grafana and kube-prometheus-stack charts)
# loads ConfigMaps carrying this label, into the folder named by the annotation.
DASHBOARD_LABEL = "grafana_dashboard"
FOLDER_ANNOTATION = "grafana_folder"
CONFIGMAP_LIMIT_BYTES = 1024 * 1024
PART_OF = {"app.kubernetes.io/part-of": "bongsu"}

# libyaml's emitter and parser when present: the pure-Python ones scan every character of each embedded
# dashboard JSON in Python, a minute for a few hundred services.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NOTIFIER_FILE = "notifier.yaml"
MONITORS_FILE = "servicemonitors.yaml"
DASHBOARDS_FILE = "grafana-dashboards.yaml"
KUSTOMIZATION_FILE = "kustomization.yaml"


def image() -> str:
    """The notifier image, pinned to this release (override with `kustomize edit set image`)."""
    try:
        return f"{IMAGE_REPOSITORY}:{version('bongsu')}"
    except PackageNotFoundError:  # running from a checkout that was never installed
        return f"{IMAGE_REPOSITORY}:0.1.0"


def catalog_yaml(catalog: Catalog) -> str:
    """The catalog as YAML the notifier re-reads; rebuilt from the model so it is always valid.

    The services, most of it, are dumped once per shape and specialised by name (bongsu/shapes.py):
    a top-level list item is written at the same columns as the same item under `services:`."""
    if not catalog.services:
        return yaml.dump(_plain(catalog), Dumper=_DUMPER, sort_keys=False)
    rest = yaml.dump(_plain(catalog.model_copy(update={"services": []})), Dumper=_DUMPER, sort_keys=False)
    specialiser = Specialiser(catalog, _catalog_texts)
    services = "".join(text for service in catalog.services for text in specialiser.texts(service) if text)
    head, tail = rest.split("\nservices: []\n", 1)
    return f"{head}\nservices:\n{services}{tail}"


def _catalog_texts(catalog: Catalog, service: Service) -> tuple[str | None, ...]:
    return (yaml.dump([_plain(service)], Dumper=_DUMPER, sort_keys=False),)


def _plain(value: object) -> object:
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, BaseModel):  # unset optional fields are left out: `threshold: null` is invalid
        return {name: _plain(getattr(value, name)) for name, field in type(value).model_fields.items()
                if not field.exclude and getattr(value, name) is not None}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def notifier_objects(catalog: Catalog) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": KUBERNETES_NOTIFIER, **PART_OF}
    selector = {"app.kubernetes.io/name": KUBERNETES_NOTIFIER}

    def secret(name: str, optional: bool) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {
            "name": KUBERNETES_NOTIFIER, "key": name, "optional": optional}}}

    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}
    container = {
        "name": "notifier",
        "image": image(),
        "command": ["bongsu"],
        "args": ["notifier", "serve", "--listen", f"0.0.0.0:{KUBERNETES_NOTIFIER_PORT}",
                 # --state only places notifications.jsonl when offline; the outbox is PostgreSQL.
                 "--state", "/data/state.sqlite", "--catalog", "/etc/bongsu/catalog.yaml"],
        "ports": [{"name": "http", "containerPort": KUBERNETES_NOTIFIER_PORT, "protocol": "TCP"}],
        "env": [
            secret(KUBERNETES_WEBHOOK_TOKEN_KEY, optional=False),
            secret(NOTIFIER_STORE_KEY, optional=False),  # replicas share one PostgreSQL outbox
            secret(conventions.SLACK_BOT_TOKEN, optional=True),  # without it, deliveries go to the log only
            secret(conventions.SLACK_SIGNING_SECRET, optional=True),
            {"name": "ALERTMANAGER_URL", "value": OPERATOR_ALERTMANAGER_URL},
            {"name": conventions.PROMETHEUS_URL, "value": OPERATOR_PROMETHEUS_URL},
            {"name": "MPLCONFIGDIR", "value": "/tmp/matplotlib"},
        ],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/livez", "port": "http"}, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "state", "mountPath": "/data"},
                         {"name": "catalog", "mountPath": "/etc/bongsu", "readOnly": True},
                         # The root filesystem is read-only; matplotlib (thread graphs) caches here.
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": CATALOG_CONFIGMAP, "labels": dict(PART_OF)},
         "data": {"catalog.yaml": catalog_yaml(catalog)}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": KUBERNETES_NOTIFIER, "labels": labels},
         "spec": {
             # Active-active on one PostgreSQL: any replica takes webhooks, delivery lanes are leased,
             # a dead replica's lanes are taken over within the lease time (docs/scaling.md).
             "replicas": NOTIFIER_REPLICAS,
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
             "selector": {"matchLabels": selector},
             "template": {
                 "metadata": {"labels": labels},
                 "spec": {
                     "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                     # Replicas on different nodes where possible: one node's loss leaves one running.
                     "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                    "whenUnsatisfiable": "ScheduleAnyway",
                                                    "labelSelector": {"matchLabels": selector}}],
                     "containers": [container],
                     "volumes": [
                         {"name": "state", "emptyDir": {"sizeLimit": "64Mi"}},
                         {"name": "catalog", "configMap": {"name": CATALOG_CONFIGMAP}},
                         {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                     ],
                 },
             },
         }},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
         "metadata": {"name": KUBERNETES_NOTIFIER, "labels": labels},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": KUBERNETES_NOTIFIER, "labels": labels},
         "spec": {"selector": selector,
                  "ports": [{"name": "http", "port": KUBERNETES_NOTIFIER_PORT, "targetPort": "http",
                             "protocol": "TCP"}]}},
    ]


def service_monitor(name: str, job: str, team: str | None, selector: dict[str, str], port: str) -> dict[str, Any]:
    """Scrape `selector`'s Services on the named port, with the `job` (and `team`) the rules expect."""
    relabelings = [{"action": "replace", "targetLabel": "job", "replacement": job}]
    if team:
        relabelings.append({"action": "replace", "targetLabel": "team", "replacement": team})
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": name, "labels": dict(PART_OF)},
        "spec": {
            "selector": {"matchLabels": selector},
            "endpoints": [{"port": port, "path": "/metrics", "relabelings": relabelings}],
        },
    }


def _service_monitor(service: Service) -> dict[str, Any]:
    return service_monitor(f"bongsu-{service.name}", service.name, service.team,
                           {KUBERNETES_SERVICE_LABEL: service.name}, KUBERNETES_METRICS_PORT)


def _notifier_monitor() -> dict[str, Any]:
    return service_monitor(KUBERNETES_NOTIFIER, "notifier", None, {"app.kubernetes.io/name": KUBERNETES_NOTIFIER},
                           "http")


def _monitor_texts(catalog: Catalog, service: Service) -> tuple[str | None, ...]:
    return (yaml.dump(_service_monitor(service), Dumper=_DUMPER, sort_keys=False),)


def monitors_yaml(catalog: Catalog) -> str:
    """A ServiceMonitor per service and the notifier's, as YAML documents; no scrape interval of their
    own (the cluster's Prometheus decides). Each service's is dumped once per shape (bongsu/shapes.py)."""
    specialiser = Specialiser(catalog, _monitor_texts)
    texts = [text for service in catalog.services for text in specialiser.texts(service) if text]
    return "---\n".join([*texts, yaml.dump(_notifier_monitor(), Dumper=_DUMPER, sort_keys=False)])


def dashboard_objects(dashboards: Path, providers: Path) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard JSON in DIR/grafana/dashboards, in the folder its Grafana file
    provider (DIR/grafana/provisioning/dashboards/) puts it in."""
    folders = dashboard_folders(providers)
    objects = []
    for path in sorted(dashboards.glob("*.json")) if dashboards.is_dir() else []:
        text = path.read_text(encoding="utf-8").strip()
        try:
            uid = json.loads(text).get("uid") or path.stem
        except (json.JSONDecodeError, AttributeError):
            raise BongsuError("not a Grafana dashboard JSON object", where=str(path)) from None
        # The file's own text (the dashboards generator writes it compact): no second encoding. A
        # dashboard over the 1 MiB a ConfigMap holds is still written: `bongsu check` names it
        # (manifests.py), while the rest of a large catalog's build stays usable.
        metadata: dict[str, Any] = {"name": _dns_name(f"bongsu-dashboard-{uid}"),
                          "labels": {DASHBOARD_LABEL: "1", **PART_OF}}
        if path.name in folders:
            metadata["annotations"] = {FOLDER_ANNOTATION: folders[path.name]}
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
                        "data": {path.name: text}})
    return objects


def dashboard_folders(providers: Path) -> dict[str, str]:
    """Dashboard file name -> Grafana folder title, from the file providers' `options.path`."""
    folders = {}
    for path in sorted(providers.glob("*.yaml")) if providers.is_dir() else []:
        for provider in (yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}).get("providers", []):
            target = (provider.get("options") or {}).get("path", "")
            if target.endswith(".json") and provider.get("folder"):
                folders[Path(target).name] = provider["folder"]
    return folders


def _dns_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return name[:253].rstrip("-")


def header(source: str) -> str:
    return f"# Generated by `bongsu build` from {source}. Do not edit.\n"


def _write(path: Path, objects: list[dict[str, Any]] | str, source: str, as_json: bool = False) -> Path:
    """YAML documents (or their text); `as_json` writes each object as one line of JSON (valid YAML,
    and what kubectl reads) for the dashboards, where YAML's emitter would rescan every embedded character."""
    if isinstance(objects, str):
        body = objects
    elif as_json:
        body = "".join(f"---\n{json.dumps(obj, separators=(',', ':'))}\n" for obj in objects)
    else:
        body = yaml.dump_all(objects, Dumper=_DUMPER, sort_keys=False)
    path.write_text(header(source) + body)
    return path


def write(catalog: Catalog, options: BuildOptions) -> list[Path]:
    folder = options.out / "kubernetes"
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(catalog.source).name
    written = [
        _write(folder / NOTIFIER_FILE, notifier_objects(catalog), source),
        _write(folder / MONITORS_FILE, monitors_yaml(catalog), source),
    ]
    grafana = options.out / "grafana"
    dashboards = dashboard_objects(grafana / "dashboards", grafana / "provisioning" / "dashboards")
    if dashboards:
        written.append(_write(folder / DASHBOARDS_FILE, dashboards, source, as_json=True))
    else:  # an empty file would be an empty kustomize resource; none stale from an earlier build either
        (folder / DASHBOARDS_FILE).unlink(missing_ok=True)
    resources = sorted(p.name for p in folder.glob("*.yaml") if p.name != KUSTOMIZATION_FILE)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": resources}
    written.append(_write(folder / KUSTOMIZATION_FILE, [kustomization], source))
    return written
