"""DIR/kubernetes/ from `bongsu build`: every object against its prometheus-operator CRD (the served
version matching its apiVersion) or the core-kind structural schema, the references between objects,
and what each object must say. Broken copies show each check can fail."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bongsu.build import BuildOptions
from bongsu.catalog import (
    KUBERNETES_METRICS_PORT,
    KUBERNETES_NOTIFIER,
    KUBERNETES_SERVICE_LABEL,
    KUBERNETES_WEBHOOK_TOKEN_KEY,
    parse_catalog,
)
from bongsu.deploy import check, kubernetes
from bongsu.deploy.manifests import CORE_SCHEMAS, check_folder, load_folder, object_problems, reference_problems
from bongsu.deploy.schemas import CRD_KINDS, KubernetesLoader

from tests.deploy.conftest import WEBHOOK_TOKEN


@pytest.fixture(scope="module")
def folder(build_out: Path) -> Path:
    return build_out / "kubernetes"


@pytest.fixture(scope="module")
def objects(folder: Path) -> list[dict]:
    return [obj for found in load_folder(folder).values() for obj in found]


def _kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_manifest_passes_its_schema_and_references(folder):
    findings = check_folder(folder)
    assert [f for f in findings if not f.ok] == []
    assert len(findings) == len(load_folder(folder)) + 2


def test_registered_check_reports_the_same(catalog, build_out):
    findings = list(check(catalog, BuildOptions(out=build_out)))
    assert findings and all(f.ok for f in findings), [f for f in findings if not f.ok]


def test_every_kind_is_a_served_crd_version_or_a_known_core_kind(objects):
    crds = CRD_KINDS
    kinds = {(o["apiVersion"], o["kind"]) for o in objects}
    assert kinds <= set(crds) | set(CORE_SCHEMAS), kinds - set(crds) - set(CORE_SCHEMAS)
    # The list: notifier objects, monitors, rules, routing, dashboards.
    assert {("apps/v1", "Deployment"), ("v1", "Service"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
            ("monitoring.coreos.com/v1", "PrometheusRule"), ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
            ("v1", "ConfigMap")} <= kinds


def test_crd_validation_catches_type_errors_and_dropped_fields(objects):
    monitor = copy.deepcopy(next(iter(_kind(objects, "ServiceMonitor").values())))
    monitor["spec"]["endpoints"][0]["port"] = 8000  # must be a port name
    monitor["spec"]["endpoint"] = monitor["spec"]["endpoints"]  # a typo the API server would drop
    problems = "\n".join(object_problems(monitor))
    assert "spec.endpoints[0].port" in problems
    assert "spec.endpoint: unknown field" in problems
    rule = copy.deepcopy(next(iter(_kind(objects, "PrometheusRule").values())))
    rule["apiVersion"] = "monitoring.coreos.com/v2"
    assert "neither a served prometheus-operator CRD version" in "\n".join(object_problems(rule))


def test_core_kind_validation_catches_typos_and_bad_names(objects):
    deployment = copy.deepcopy(_kind(objects, "Deployment")[KUBERNETES_NOTIFIER])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy_"] = "Always"
    deployment["metadata"]["name"] = "Bongsu_Notifier"
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = "metrics-and-health"
    problems = "\n".join(object_problems(deployment))
    assert "imagePullPolicy_" in problems
    assert "metadata.name" in problems
    assert "ports[0].name" in problems


def test_reference_checks_catch_broken_links(objects):
    broken = copy.deepcopy(objects)
    service = _kind(broken, "Service")[KUBERNETES_NOTIFIER]
    service["spec"]["ports"][0]["targetPort"] = "web"
    deployment = _kind(broken, "Deployment")[KUBERNETES_NOTIFIER]
    deployment["spec"]["template"]["spec"]["volumes"][0] = {"name": "state", "persistentVolumeClaim": {
        "claimName": "gone"}}
    _kind(broken, "PodDisruptionBudget")[KUBERNETES_NOTIFIER]["spec"]["selector"]["matchLabels"] = {"app": "x"}
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = "health"
    deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] = "other"
    _kind(broken, "ServiceMonitor")[KUBERNETES_NOTIFIER]["spec"]["endpoints"][0]["port"] = "metrics"
    config = _kind(broken, "AlertmanagerConfig")
    text = json.dumps(next(iter(config.values()))).replace(f"{KUBERNETES_NOTIFIER}:9099", f"{KUBERNETES_NOTIFIER}:9100")
    broken = [o for o in broken if o["kind"] != "AlertmanagerConfig"] + [json.loads(text)]
    problems = "\n".join(reference_problems(broken))
    assert "targetPort 'web'" in problems
    assert "claims gone" in problems
    assert "PodDisruptionBudget bongsu-notifier: its selector matches no Deployment's pods" in problems
    assert "readinessProbe uses port 'health'" in problems
    assert "refers to Secret 'other'" in problems
    assert "port 'metrics' is not a port of Service" in problems
    assert "uses port 9100" in problems


def test_kustomization_lists_every_manifest_and_a_missing_one_fails(folder, tmp_path):
    listed = yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(load_folder(folder))
    for path in folder.iterdir():
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "extra.yaml").write_text((folder / "notifier.yaml").read_text().replace(
        f"name: {KUBERNETES_NOTIFIER}\n", "name: bongsu-notifier-copy\n"))
    finding = next(f for f in check_folder(tmp_path) if "kustomization" in f.check)
    assert not finding.ok and "extra.yaml" in finding.detail


# ---- what the objects say ---------------------------------------------------------------------------

def test_notifier_runs_the_contract_command_with_secrets_by_reference(objects):
    deployment = _kind(objects, "Deployment")[KUBERNETES_NOTIFIER]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] + container["args"][:3] == ["bongsu", "notifier", "serve", "--listen"]
    assert "--state" in container["args"] and "--catalog" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    token = env[KUBERNETES_WEBHOOK_TOKEN_KEY]["valueFrom"]["secretKeyRef"]
    assert token == {"name": KUBERNETES_NOTIFIER, "key": KUBERNETES_WEBHOOK_TOKEN_KEY, "optional": False}
    assert env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert {"ALERTMANAGER_URL", "PROMETHEUS_URL", "SLACK_SIGNING_SECRET"} <= set(env)
    assert not any("value" in e and ("TOKEN" in e["name"] or "SECRET" in e["name"]) for e in container["env"])
    store = env["BONGSU_NOTIFIER_STORE"]["valueFrom"]["secretKeyRef"]
    assert store == {"name": KUBERNETES_NOTIFIER, "key": "BONGSU_NOTIFIER_STORE", "optional": False}
    assert deployment["spec"]["replicas"] == 2 and deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    budget = _kind(objects, "PodDisruptionBudget")[KUBERNETES_NOTIFIER]
    assert budget["apiVersion"] == "policy/v1" and budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"] == deployment["spec"]["selector"], "the budget covers the replicas"
    assert ":" in container["image"] and not container["image"].endswith(":latest")


def test_no_secret_value_is_written_into_the_manifests(folder):
    for path in folder.glob("*.yaml"):
        assert WEBHOOK_TOKEN not in path.read_text(), path.name


def test_a_service_monitor_per_catalog_service_with_the_rules_job_label(objects, catalog):
    monitors = _kind(objects, "ServiceMonitor")
    for service in catalog.services:
        monitor = monitors[f"bongsu-{service.name}"]
        assert monitor["spec"]["selector"]["matchLabels"] == {KUBERNETES_SERVICE_LABEL: service.name}
        endpoint = monitor["spec"]["endpoints"][0]
        assert endpoint["port"] == KUBERNETES_METRICS_PORT and endpoint["path"] == "/metrics"
        relabel = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
        assert relabel == {"job": service.name, "team": service.team}
    notifier = monitors[KUBERNETES_NOTIFIER]["spec"]["endpoints"][0]["relabelings"]
    assert {"action": "replace", "targetLabel": "job", "replacement": "notifier"} in notifier


def test_a_config_map_per_dashboard_for_the_grafana_sidecar(objects, build_out):
    maps = {name: o for name, o in _kind(objects, "ConfigMap").items() if name.startswith("bongsu-dashboard-")}
    files = sorted((build_out / "grafana" / "dashboards").glob("*.json"))
    assert files and len(maps) == len(files)
    folders = kubernetes.dashboard_folders(build_out / "grafana" / "provisioning" / "dashboards")
    for config in maps.values():
        assert config["metadata"]["labels"][kubernetes.DASHBOARD_LABEL] == "1"
        [(key, text)] = config["data"].items()
        assert json.loads(text) == json.loads((build_out / "grafana" / "dashboards" / key).read_text())
        assert config["metadata"]["annotations"][kubernetes.FOLDER_ANNOTATION] == folders[key]


def test_catalog_config_map_is_the_catalog(objects, catalog):
    text = _kind(objects, "ConfigMap")[kubernetes.CATALOG_CONFIGMAP]["data"]["catalog.yaml"]
    assert parse_catalog(text).model_dump() == catalog.model_dump()


def test_no_dashboards_means_no_dashboard_file(catalog, tmp_path):
    """Before the dashboards generator runs (or without it), the folder still applies cleanly."""
    written = kubernetes.write(catalog, BuildOptions(out=tmp_path))
    assert kubernetes.DASHBOARDS_FILE not in {p.name for p in written}
    assert all(f.ok for f in check_folder(tmp_path / "kubernetes"))


def test_kustomize_renders_the_folder_offline(folder, objects):
    """`kubectl apply -k` starts with this rendering; kustomize runs without a cluster."""
    kustomize = ([shutil.which("kubectl"), "kustomize"] if shutil.which("kubectl")
                 else [shutil.which("kustomize"), "build"] if shutil.which("kustomize") else None)
    if kustomize is None:
        pytest.fail("neither kubectl nor kustomize is installed: `sudo apt-get install -y kubectl` "
                    "(or put a kustomize binary on PATH)", pytrace=False)
    result = subprocess.run([*kustomize, str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = {(o["kind"], o["metadata"]["name"]) for o in yaml.load_all(result.stdout, KubernetesLoader) if o}
    assert rendered == {(o["kind"], o["metadata"]["name"]) for o in objects}
