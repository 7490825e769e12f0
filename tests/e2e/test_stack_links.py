"""In the local stack, runbook links open the runbook (served by the stack's notifier) and, with no
Grafana there, alerts and messages carry no dashboard link."""

from __future__ import annotations

import yaml

from bongsu.build import BuildOptions, build
from bongsu.catalog import load_catalog, parse_catalog
from bongsu.deploy.kubernetes import catalog_yaml
from bongsu.conventions import GRAFANA_URL
from bongsu.stack import Stack, StackSettings


def _annotations(out) -> list[dict]:
    return [rule["annotations"] for path in (out / "prometheus" / "rules").glob("*.yaml")
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule]


def test_local_stack_links_point_at_its_notifier_and_no_grafana(tmp_path, monkeypatch):
    monkeypatch.delenv(GRAFANA_URL, raising=False)
    stack = Stack(StackSettings(catalog=load_catalog(), run_dir=tmp_path / "run"))
    catalog = stack.local_catalog()
    build(catalog, BuildOptions(out=tmp_path / "out", webhook_token="t"))
    annotations = _annotations(tmp_path / "out")
    assert annotations and all(a["runbook_url"].startswith(f"{stack.urls['notifier']}/runbooks/") for a in annotations)
    assert not any("dashboard_url" in a for a in annotations)
    # What the notifier reads keeps the same links (its fallbacks).
    reread = parse_catalog(catalog_yaml(catalog))
    assert reread.links.dashboard_url("x") is None
    assert reread.links.runbook_url("A") == f"{stack.urls['notifier']}/runbooks/A.md"


def test_a_configured_grafana_keeps_its_dashboard_links(tmp_path, monkeypatch):
    monkeypatch.setenv(GRAFANA_URL, "http://grafana.example:3000")
    stack = Stack(StackSettings(catalog=load_catalog(), run_dir=tmp_path / "run"))
    build(stack.local_catalog(), BuildOptions(out=tmp_path / "out", webhook_token="t"))
    assert all(a["dashboard_url"].startswith("http://grafana.example:3000/d/") for a in _annotations(tmp_path / "out")
               if "dashboard_url" in a)
    assert any("dashboard_url" in a for a in _annotations(tmp_path / "out"))
