"""Check DIR/kubernetes/: custom resources against the prometheus-operator CRDs, core kinds against a
structural subset of the Kubernetes API, and the references between objects (selectors, named ports,
volumes) that no schema sees.

The core-kind schemas below cover exactly the fields Bongsu writes and reject any other, so a typo fails
here instead of being dropped by the API server. They are not the full Kubernetes OpenAPI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from bongsu.catalog import KUBERNETES_NOTIFIER
from bongsu.deploy.kubernetes import CONFIGMAP_LIMIT_BYTES, KUSTOMIZATION_FILE
from bongsu.deploy.schemas import CRD_KINDS, CheckUnavailable, KubernetesLoader, crd_models, crd_problems, json_path
from bongsu.generator import Finding

_NAME = {"type": "string", "maxLength": 253,
         "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}
_DNS_LABEL = {"type": "string", "maxLength": 63, "pattern": r"^[a-z]([-a-z0-9]*[a-z0-9])?$"}
_LABELS = {"type": "object",
           "propertyNames": {"pattern": r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"},
           "additionalProperties": {"type": "string", "maxLength": 63,
                                    "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"}}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_PORT_NAME = {"type": "string", "maxLength": 15, "pattern": r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$"}
_PROTOCOL = {"enum": ["TCP", "UDP", "SCTP"]}
_QUANTITIES = {"type": "object", "additionalProperties": {"type": "string", "pattern": r"^[0-9.]+(m|[KMGT]i?)?$"}}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


_METADATA = _object(["name"], name=_NAME, namespace=_DNS_LABEL, labels=_LABELS, annotations=_STRINGS)
_KEY_REF = _object(["name", "key"], name=_NAME, key={"type": "string"}, optional={"type": "boolean"})
_PROBE = _object(["httpGet"], httpGet=_object(["port"], path={"type": "string"},
                                              port={"oneOf": [_PORT, _PORT_NAME]}),
                 periodSeconds={"type": "integer"}, timeoutSeconds={"type": "integer"},
                 failureThreshold={"type": "integer"}, initialDelaySeconds={"type": "integer"})
_CONTAINER = _object(
    ["name", "image"], name=_DNS_LABEL, image={"type": "string", "minLength": 1},
    command={"type": "array", "items": {"type": "string"}}, args={"type": "array", "items": {"type": "string"}},
    ports={"type": "array", "items": _object(["containerPort"], name=_PORT_NAME, containerPort=_PORT,
                                             protocol=_PROTOCOL)},
    env={"type": "array", "items": _object(
        ["name"], name={"type": "string", "pattern": r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"}, value={"type": "string"},
        valueFrom={"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                   "properties": {"secretKeyRef": _KEY_REF, "configMapKeyRef": _KEY_REF}})},
    readinessProbe=_PROBE, livenessProbe=_PROBE,
    resources=_object([], requests=_QUANTITIES, limits=_QUANTITIES),
    securityContext=_object([], allowPrivilegeEscalation={"type": "boolean"},
                            readOnlyRootFilesystem={"type": "boolean"}),
    volumeMounts={"type": "array", "items": _object(["name", "mountPath"], name=_DNS_LABEL,
                                                    mountPath={"type": "string", "pattern": "^/"},
                                                    readOnly={"type": "boolean"})})
_VOLUME = _object(["name"], name=_DNS_LABEL, persistentVolumeClaim=_object(["claimName"], claimName=_NAME),
                  configMap=_object(["name"], name=_NAME), secret=_object(["secretName"], secretName=_NAME),
                  emptyDir=_object([], sizeLimit=_QUANTITIES["additionalProperties"], medium={"enum": ["", "Memory"]}))
_POD = _object(["containers"], containers={"type": "array", "minItems": 1, "items": _CONTAINER},
               volumes={"type": "array", "items": _VOLUME},
               securityContext=_object([], runAsNonRoot={"type": "boolean"}, runAsUser={"type": "integer"},
                                       fsGroup={"type": "integer"}),
               topologySpreadConstraints={"type": "array", "items": _object(
                   ["maxSkew", "topologyKey", "whenUnsatisfiable"], maxSkew={"type": "integer", "minimum": 1},
                   topologyKey={"type": "string"}, whenUnsatisfiable={"enum": ["DoNotSchedule", "ScheduleAnyway"]},
                   labelSelector=_object(["matchLabels"], matchLabels=_LABELS))})


def _kind(api_version: str, kind: str, metadata: dict[str, Any] = _METADATA, **body: dict[str, Any]) -> dict[str, Any]:
    return _object(["apiVersion", "kind", "metadata", *[k for k in body if k == "spec"]],
                   apiVersion={"const": api_version}, kind={"const": kind}, metadata=metadata, **body)


CORE_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps/v1", "Deployment"): _kind("apps/v1", "Deployment", spec=_object(
        ["selector", "template"], replicas={"type": "integer", "minimum": 0},
        strategy=_object(["type"], type={"enum": ["Recreate", "RollingUpdate"]}, rollingUpdate=_object(
            [], maxUnavailable={"type": ["integer", "string"]}, maxSurge={"type": ["integer", "string"]})),
        selector=_object(["matchLabels"], matchLabels=_LABELS),
        template=_object(["metadata", "spec"], metadata=_object(["labels"], labels=_LABELS), spec=_POD))),
    ("v1", "Service"): _kind("v1", "Service", metadata={**_METADATA, "properties": {
        **_METADATA["properties"], "name": _DNS_LABEL}}, spec=_object(
        ["ports"], selector=_LABELS, type={"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
        ports={"type": "array", "minItems": 1, "items": _object(
            ["port"], name=_PORT_NAME, port=_PORT, targetPort={"oneOf": [_PORT, _PORT_NAME]},
            protocol=_PROTOCOL)})),
    ("v1", "ConfigMap"): _kind("v1", "ConfigMap", data={
        **_STRINGS, "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$", "maxLength": 253}}),
    ("policy/v1", "PodDisruptionBudget"): _kind("policy/v1", "PodDisruptionBudget", spec=_object(
        ["selector"], minAvailable={"type": ["integer", "string"]}, maxUnavailable={"type": ["integer", "string"]},
        selector=_object(["matchLabels"], matchLabels=_LABELS))),
    ("v1", "PersistentVolumeClaim"): _kind("v1", "PersistentVolumeClaim", spec=_object(
        ["accessModes", "resources"], storageClassName={"type": "string"},
        accessModes={"type": "array", "minItems": 1,
                     "items": {"enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]}},
        resources=_object(["requests"], requests=_object(["storage"], storage=_QUANTITIES["additionalProperties"])))),
}


def load_folder(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """file name -> its objects, for every manifest in the folder (not the kustomization)."""
    return {path.name: [doc for doc in yaml.load_all(path.read_text(encoding="utf-8"), KubernetesLoader)
                        if doc is not None]
            for path in sorted(folder.glob("*.yaml")) if path.name != KUSTOMIZATION_FILE}


def object_problems(obj: dict[str, Any]) -> list[str]:
    """One object against its prometheus-operator model or core-kind schema. Raises CheckUnavailable
    for a custom resource when the models package is not installed."""
    if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
        return ["not a Kubernetes object (needs apiVersion and kind)"]
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_KINDS:
        return crd_problems(obj, crd_models()[key])
    if key in CORE_SCHEMAS:
        return [f"{json_path(error.absolute_path) or '(object)'}: {error.message}"
                for error in Draft7Validator(CORE_SCHEMAS[key]).iter_errors(obj)]
    return [f"{obj['apiVersion']} {obj['kind']} is neither a served prometheus-operator CRD version nor a "
            "core kind Bongsu writes"]


def reference_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Selectors that select nothing, named ports and volumes that do not exist, duplicate names."""
    problems: list[str] = []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        kind, name = obj.get("kind", "?"), obj.get("metadata", {}).get("name", "?")
        if (kind, name) in seen:
            problems.append(f"{kind} {name}: defined twice")
        seen.add((kind, name))
        by_kind.setdefault(kind, []).append(obj)
    names = {kind: {o["metadata"]["name"] for o in found} for kind, found in by_kind.items()}
    pods = {d["metadata"]["name"]: d["spec"]["template"] for d in by_kind.get("Deployment", [])}
    for name, template in pods.items():
        deployment = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == name)
        if not _selects(deployment["spec"]["selector"]["matchLabels"], template["metadata"]["labels"]):
            problems.append(f"Deployment {name}: selector does not match its own pod template's labels")
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        for volume in volumes.values():
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in names.get("PersistentVolumeClaim", set()):
                problems.append(f"Deployment {name}: volume {volume['name']} claims {claim}, which is not defined")
            config = volume.get("configMap", {}).get("name")
            if config and config not in names.get("ConfigMap", set()):
                problems.append(f"Deployment {name}: volume {volume['name']} uses ConfigMap {config}, not defined")
        for container in template["spec"]["containers"]:
            ports = {p.get("name") for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in ports:
                    problems.append(f"Deployment {name}: {probe} uses port {port!r}, not a container port name")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"Deployment {name}: volumeMount {mount['name']!r} names no volume")
            env_names = [e["name"] for e in container.get("env", [])]
            if len(env_names) != len(set(env_names)):
                problems.append(f"Deployment {name}: container {container['name']} sets an env var twice")
    for budget in by_kind.get("PodDisruptionBudget", []):
        if not any(_selects(budget["spec"]["selector"]["matchLabels"], t["metadata"]["labels"]) for t in pods.values()):
            problems.append(f"PodDisruptionBudget {budget['metadata']['name']}: its selector matches no Deployment's pods")
    services = {}
    for service in by_kind.get("Service", []):
        name = service["metadata"]["name"]
        matched = [t for t in pods.values() if _selects(service["spec"].get("selector", {}), t["metadata"]["labels"])]
        if not matched:
            problems.append(f"Service {name}: its selector matches no Deployment's pods")
            continue
        port_names = {p.get("name") for t in matched for c in t["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in port_names:
                problems.append(f"Service {name}: targetPort {port['targetPort']!r} is not a port of its pods")
        services[name] = service
    for monitor in by_kind.get("ServiceMonitor", []):
        selector = monitor["spec"].get("selector", {}).get("matchLabels", {})
        for service in services.values():
            if _selects(selector, service["metadata"].get("labels", {})):
                ports = {p.get("name") for p in service["spec"]["ports"]}
                for endpoint in monitor["spec"].get("endpoints", []):
                    if endpoint.get("port") not in ports:
                        problems.append(f"ServiceMonitor {monitor['metadata']['name']}: port "
                                        f"{endpoint.get('port')!r} is not a port of Service "
                                        f"{service['metadata']['name']}")
    problems += _secret_problems(objects, names.get("Secret", set()))
    problems += _url_problems(objects, services)
    for config in by_kind.get("ConfigMap", []):
        size = sum(len(v.encode()) for v in config.get("data", {}).values())
        if size > CONFIGMAP_LIMIT_BYTES:
            problems.append(f"ConfigMap {config['metadata']['name']}: {size} bytes of data, over 1 MiB")
    return problems


# Secrets the user creates (docs/deploy.md); any other must be defined in the folder itself.
DOCUMENTED_SECRETS = {KUBERNETES_NOTIFIER}
_SECRET_KEYS = {"secretKeyRef", "credentials", "urlSecret"}
_URL = re.compile(r"^https?://(?P<host>[a-z0-9-]+)(?::(?P<port>\d+))?(?:/|$)")


def _secret_problems(objects: list[dict[str, Any]], defined: set[str]) -> list[str]:
    """Every Secret an object refers to is the documented one (or defined here)."""
    problems = []
    for obj in objects:
        for parent, value in _walk(obj):
            if parent in _SECRET_KEYS and isinstance(value, dict) and "name" in value and "key" in value:
                if value["name"] not in DOCUMENTED_SECRETS | defined:
                    problems.append(f"{obj['kind']} {obj['metadata']['name']}: refers to Secret {value['name']!r}, "
                                    f"which is neither defined here nor documented ({sorted(DOCUMENTED_SECRETS)})")
    return problems


def _url_problems(objects: list[dict[str, Any]], services: dict[str, dict[str, Any]]) -> list[str]:
    """A URL naming one of these Services uses one of its ports."""
    problems = []
    for obj in objects:
        for _, value in _walk(obj):
            match = _URL.match(value) if isinstance(value, str) else None
            if match and match.group("host") in services:
                ports = {p["port"] for p in services[match.group("host")]["spec"]["ports"]}
                port = int(match.group("port") or 80)
                if port not in ports:
                    problems.append(f"{obj['kind']} {obj['metadata']['name']}: {value} uses port {port}, but "
                                    f"Service {match.group('host')} has {sorted(ports)}")
    return problems


def _walk(value: object, parent: str = "") -> Iterator[tuple[str, object]]:
    """(key it sits under, value) for every value in a nested object."""
    yield parent, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, parent)


def _selects(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def check_folder(folder: Path) -> list[Finding]:
    """Findings for every file in DIR/kubernetes/, the references across them, and the kustomization."""
    if not folder.is_dir():
        return [Finding("kubernetes manifests", False, f"{folder} does not exist; run `bongsu build` first")]
    findings: list[Finding] = []
    files = load_folder(folder)
    everything: list[dict[str, Any]] = []
    for file, objects in files.items():
        problems = []
        name = f"kubernetes/{file} against CRD and core-kind schemas ({len(objects)} objects)"
        try:
            for index, obj in enumerate(objects):
                label = f"{obj.get('kind', '?')} {obj.get('metadata', {}).get('name', '?')}" if isinstance(obj, dict) else f"document {index}"
                problems += [f"{file} {label}: {p}" for p in object_problems(obj)]
        except CheckUnavailable as exc:
            findings.append(Finding(name, True, str(exc), checked=False))
            everything += objects
            continue
        findings.append(Finding(name, not problems, "\n".join(problems)))
        if not problems:
            everything += objects
    problems = reference_problems(everything)
    findings.append(Finding("kubernetes references (selectors, named ports, volumes)", not problems,
                            "\n".join(problems)))
    kustomization = folder / KUSTOMIZATION_FILE
    listed = yaml.safe_load(kustomization.read_text()).get("resources", []) if kustomization.is_file() else []
    missing = sorted(set(files) - set(listed))
    dangling = sorted(set(listed) - set(files))
    findings.append(Finding(
        "kubernetes/kustomization.yaml lists every manifest", not missing and not dangling and bool(listed),
        f"not listed: {missing}; listed but absent: {dangling}" if missing or dangling or not listed else ""))
    return findings
