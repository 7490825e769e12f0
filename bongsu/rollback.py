"""Rolling a service back to a previous build, as its catalog entry says (`services[].rollback`).

Two kinds:
- `command`: the argv runs without a shell, with `BONGSU_ROLLBACK_SERVICE`, `BONGSU_ROLLBACK_FROM`
  and `BONGSU_ROLLBACK_TO` in its environment and `${NAME}` of those replaced in its arguments. The
  Python environment's own `bin/` comes first on PATH, so `bongsu` names this installation.
- `kubernetes`: what `kubectl rollout undo` does, through the API: read the Deployment and its
  ReplicaSets, take the pod template of the previous revision (or of the one running `to`), and
  patch it back onto the Deployment. Not run against a cluster in this repository's tests: they check
  the exact requests it sends (docs/recovery.md).

The notifier's Roll back button and `bongsu rollback` both call `run_rollback`.
"""

from __future__ import annotations

from typing import Any

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bongsu.catalog import CommandRollback, KubernetesRollback, Service

OUTPUT_TAIL = 2000
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
VERSION_LABEL = "app.kubernetes.io/version"


class RollbackError(RuntimeError):
    """The rollback could not be planned or run; one line for the user."""


@dataclass
class Outcome:
    ok: bool
    detail: str
    started_at: float
    finished_at: float
    requests: list[dict[str, Any]] = field(default_factory=list)  # kubernetes: what was sent


def _expand(argument: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(BONGSU_ROLLBACK_[A-Z]+)\}", lambda m: env.get(m.group(1), m.group(0)), argument)


def run_command(spec: CommandRollback, service: str, from_version: str, to_version: str,
                environ: dict[str, str] | None = None) -> Outcome:
    started = time.time()
    ours = {"BONGSU_ROLLBACK_SERVICE": service, "BONGSU_ROLLBACK_FROM": from_version,
            "BONGSU_ROLLBACK_TO": to_version}
    env = {**(os.environ if environ is None else environ), **ours}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    argv = [_expand(arg, ours) for arg in spec.command]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=spec.timeout.seconds,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return Outcome(False, f"command not found: {argv[0]}", started, time.time())
    except subprocess.TimeoutExpired:
        return Outcome(False, f"`{' '.join(argv)}` did not finish within {spec.timeout}", started, time.time())
    output = (done.stdout + done.stderr).strip()[-OUTPUT_TAIL:]
    if done.returncode != 0:
        return Outcome(False, f"`{' '.join(argv)}` exited {done.returncode}: {output[-500:]}", started, time.time())
    return Outcome(True, f"`{' '.join(argv)}` succeeded" + (f": {output[-300:]}" if output else ""),
                   started, time.time())


# ---- kubernetes -----------------------------------------------------------------------------------

def undo_plan(deployment: dict[str, Any], replica_sets: list[dict[str, Any]], to_version: str | None = None) -> list[dict[str, Any]]:
    """The PATCH `kubectl rollout undo` sends, from the Deployment and its ReplicaSets as the API
    returns them: the target ReplicaSet's pod template (without `pod-template-hash`) and its
    revision-independent annotations, as a JSON patch on the Deployment."""
    uid = deployment["metadata"]["uid"]
    owned = [rs for rs in replica_sets
             if any(ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences", []))]

    def revision(rs: dict[str, Any]) -> int:
        return int(rs["metadata"].get("annotations", {}).get(REVISION_ANNOTATION, "0"))

    current = int(deployment["metadata"].get("annotations", {}).get(REVISION_ANNOTATION, "0"))
    candidates = sorted((rs for rs in owned if revision(rs) != current), key=revision, reverse=True)
    if to_version:
        candidates = [rs for rs in candidates
                      if rs["spec"]["template"]["metadata"].get("labels", {}).get(VERSION_LABEL) == to_version]
    if not candidates:
        wanted = f" running {to_version}" if to_version else ""
        raise RollbackError(f"deployment {deployment['metadata']['name']} has no previous revision{wanted} to roll "
                            "back to")
    target = candidates[0]
    template = {**target["spec"]["template"]}
    labels = {k: v for k, v in template.get("metadata", {}).get("labels", {}).items() if k != "pod-template-hash"}
    template["metadata"] = {**template.get("metadata", {}), "labels": labels}
    skipped = {REVISION_ANNOTATION, "deployment.kubernetes.io/desired-replicas",
               "deployment.kubernetes.io/max-replicas", "kubectl.kubernetes.io/last-applied-configuration"}
    annotations = {k: v for k, v in deployment["metadata"].get("annotations", {}).items() if k in skipped}
    annotations.update({k: v for k, v in target["metadata"].get("annotations", {}).items() if k not in skipped})
    return [{"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations}]


def run_kubernetes(spec: KubernetesRollback, to_version: str | None, api_url: str, token: str | None,
                   verify: bool | str = True) -> Outcome:
    started = time.time()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = f"{api_url.rstrip('/')}/apis/apps/v1/namespaces/{spec.namespace}"
    sent: list[dict[str, Any]] = []
    with httpx.Client(headers=headers, verify=verify, timeout=15) as client:
        try:
            deployment = client.get(f"{base}/deployments/{spec.deployment}")
            sent.append({"method": "GET", "url": str(deployment.request.url)})
            deployment.raise_for_status()
            selector = ",".join(f"{k}={v}" for k, v in
                                sorted(deployment.json()["spec"]["selector"].get("matchLabels", {}).items()))
            sets = client.get(f"{base}/replicasets", params={"labelSelector": selector})
            sent.append({"method": "GET", "url": str(sets.request.url)})
            sets.raise_for_status()
            patch = undo_plan(deployment.json(), sets.json().get("items", []), to_version)
            answer = client.patch(f"{base}/deployments/{spec.deployment}", json=patch,
                                  headers={"Content-Type": "application/json-patch+json"})
            sent.append({"method": "PATCH", "url": str(answer.request.url), "body": patch})
            answer.raise_for_status()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            return Outcome(False, f"kubernetes rollback of {spec.namespace}/{spec.deployment} failed: {exc}",
                           started, time.time(), sent)
    return Outcome(True, f"deployment {spec.namespace}/{spec.deployment} rolled back", started, time.time(), sent)


def run_rollback(service: Service, from_version: str, to_version: str) -> Outcome:
    """Run the service's configured rollback once; never raises for a failed rollback (see `ok`)."""
    spec = service.rollback
    if spec is None:
        raise RollbackError(f"service {service.name!r} declares no rollback in the catalog "
                            "(services[].rollback, docs/recovery.md)")
    if isinstance(spec, CommandRollback):
        return run_command(spec, service.name, from_version, to_version)
    api = os.environ.get("KUBERNETES_API_URL") or _in_cluster_api()
    token_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    token = os.environ.get("KUBERNETES_TOKEN") or (token_file.read_text().strip() if token_file.exists() else None)
    return run_kubernetes(spec, to_version, api, token)


def _in_cluster_api() -> str:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise RollbackError("no Kubernetes API to talk to: set KUBERNETES_API_URL (and KUBERNETES_TOKEN), or run "
                            "in a cluster")
    return f"https://{host}:{port}"
