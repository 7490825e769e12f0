"""The two rollback kinds: a command gets its versions, and the Kubernetes kind sends exactly what
`kubectl rollout undo` sends (no cluster here: the requests are checked, docs/recovery.md)."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bongsu.catalog import CatalogError, CommandRollback, KubernetesRollback, parse_catalog
from bongsu.rollback import RollbackError, run_command, run_kubernetes, undo_plan

UID = "5b0c6f9e-0000-4000-8000-000000000001"


def _rs(revision: int, version: str, image: str) -> dict:
    return {"metadata": {"name": f"payments-{revision}", "ownerReferences": [{"uid": UID, "kind": "Deployment"}],
                         "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                         "deployment.kubernetes.io/desired-replicas": "2"}},
            "spec": {"template": {"metadata": {"labels": {"app": "payments", "pod-template-hash": f"h{revision}",
                                                          "app.kubernetes.io/version": version}},
                                  "spec": {"containers": [{"name": "payments", "image": image}]}}}}


DEPLOYMENT = {"metadata": {"name": "payments", "uid": UID,
                           "annotations": {"deployment.kubernetes.io/revision": "3"}},
              "spec": {"selector": {"matchLabels": {"app": "payments"}}}}
SETS = [_rs(1, "1.4.1", "shop/payments:1.4.1"), _rs(2, "1.4.2", "shop/payments:1.4.2"),
        _rs(3, "1.5.0", "shop/payments:1.5.0"),
        {**_rs(9, "0.1", "other:1"), "metadata": {**_rs(9, "0.1", "other:1")["metadata"], "ownerReferences": []}}]


def test_undo_plan_is_kubectl_rollout_undo() -> None:
    patch = undo_plan(DEPLOYMENT, SETS)
    assert [op["path"] for op in patch] == ["/spec/template", "/metadata/annotations"]
    template = patch[0]["value"]
    assert template["spec"]["containers"][0]["image"] == "shop/payments:1.4.2"  # the previous revision
    assert "pod-template-hash" not in template["metadata"]["labels"]
    assert patch[1]["value"] == {"deployment.kubernetes.io/revision": "3"}


def test_undo_plan_to_a_named_version_and_refusals() -> None:
    patch = undo_plan(DEPLOYMENT, SETS, to_version="1.4.1")
    assert patch[0]["value"]["spec"]["containers"][0]["image"] == "shop/payments:1.4.1"
    with pytest.raises(RollbackError, match="no previous revision running 0.1"):
        undo_plan(DEPLOYMENT, SETS, to_version="0.1")  # not owned by this deployment


class _Api(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict | None, str]] = []

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server's handler API requires
        self.seen.append(("GET", self.path, None, self.headers.get("Authorization", "")))
        self._answer(DEPLOYMENT if "/deployments/" in self.path else {"items": SETS})

    def do_PATCH(self) -> None:  # noqa: N802 - the name http.server's handler API requires
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(("PATCH", self.path, body, self.headers.get("Content-Type", "")))
        self._answer(DEPLOYMENT)

    def log_message(self, *args) -> None:
        pass


def test_kubernetes_kind_sends_the_requests_kubectl_would() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        outcome = run_kubernetes(KubernetesRollback(kind="kubernetes", deployment="payments", namespace="shop"),
                                 None, f"http://127.0.0.1:{server.server_address[1]}", "sa-token")
    finally:
        server.shutdown()
    assert outcome.ok, outcome.detail
    base = "/apis/apps/v1/namespaces/shop"
    assert [(m, p) for m, p, _, _ in _Api.seen] == [
        ("GET", f"{base}/deployments/payments"), ("GET", f"{base}/replicasets?labelSelector=app%3Dpayments"),
        ("PATCH", f"{base}/deployments/payments")]
    assert _Api.seen[0][3] == "Bearer sa-token"
    assert _Api.seen[2][3] == "application/json-patch+json" and _Api.seen[2][2] == undo_plan(DEPLOYMENT, SETS)


def test_command_kind_gets_service_and_versions(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    script = ("import json, os, sys; json.dump({'argv': sys.argv[2:], 'env': {k: v for k, v in os.environ.items() "
              "if k.startswith('BONGSU_ROLLBACK_')}}, open(sys.argv[1], 'w'))")
    spec = CommandRollback(kind="command", command=[sys.executable, "-c", script, str(out), "${BONGSU_ROLLBACK_TO}"])
    outcome = run_command(spec, "payments", "1.5.0", "1.4.2")
    assert outcome.ok, outcome.detail
    seen = json.loads(out.read_text())
    assert seen["argv"] == ["1.4.2"]
    assert seen["env"] == {"BONGSU_ROLLBACK_SERVICE": "payments", "BONGSU_ROLLBACK_FROM": "1.5.0",
                           "BONGSU_ROLLBACK_TO": "1.4.2"}
    failed = run_command(CommandRollback(kind="command", command=[sys.executable, "-c", "raise SystemExit(3)"]),
                         "payments", "1.5.0", "1.4.2")
    assert not failed.ok and "exited 3" in failed.detail


def test_catalog_rollback_errors_are_located() -> None:
    text = ("slack: {default_channel: '#a'}\nteams: [{name: t, slack_channel: '#t'}]\n"
            "services: [{name: s, team: t, rollback: {kind: helm}}]\n")
    with pytest.raises(CatalogError, match=r"services\[0\]\.rollback"):
        parse_catalog(text, "c.yaml")
