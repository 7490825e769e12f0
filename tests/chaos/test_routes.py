"""The drills read `group_wait` and the receiver from Alertmanager's routing tree; the walk must agree
with Alertmanager's own (`amtool config routes test`) on the configuration Bongsu generates."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bongsu.binaries import find
from bongsu.build import BuildOptions, build
from bongsu.catalog import Duration, load_catalog
from chaos.alertmanager import routes_for
from tests.conftest import require_binaries

CASES = [
    {"alertname": "PaymentsAvailabilityBudgetBurn", "team": "payments", "service": "payments", "slo": "availability",
     "severity": "page"},
    {"alertname": "OrdersLatencyBudgetBurn", "team": "storefront", "service": "orders", "slo": "latency",
     "severity": "ticket"},
    {"alertname": "PaymentsTargetDown", "team": "payments", "service": "payments", "severity": "page"},
    {"alertname": "Stray", "team": "nobody", "severity": "page"},
    {"alertname": "Stray", "severity": "ticket"},
]


@pytest.fixture(scope="module")
def alertmanager_yml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binaries()
    out = tmp_path_factory.mktemp("build")
    options = BuildOptions(out=out, webhook_token="test-token", page_group_wait=Duration.parse("7s"),
                           ticket_group_wait=Duration.parse("2m"))
    build(load_catalog(), options)
    return out / "alertmanager" / "alertmanager.yml"


def _amtool(config: Path, labels: dict[str, str]) -> list[str]:
    result = subprocess.run([str(find("amtool")), "config", "routes", "test", f"--config.file={config}",
                             *[f"{k}={v}" for k, v in labels.items()]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(",")


@pytest.mark.parametrize("labels", CASES, ids=lambda c: f"{c['alertname']}-{c.get('team', 'none')}-{c['severity']}")
def test_receivers_agree_with_amtool(alertmanager_yml: Path, labels: dict[str, str]) -> None:
    tree = yaml.safe_load(alertmanager_yml.read_text())
    ours = [route.receiver for route in routes_for(tree, labels)]
    assert ours == [r.strip() for r in _amtool(alertmanager_yml, labels)]


def test_group_wait_follows_severity(alertmanager_yml: Path) -> None:
    tree = yaml.safe_load(alertmanager_yml.read_text())
    page = routes_for(tree, CASES[0])
    ticket = routes_for(tree, CASES[1])
    assert [r.group_wait_s for r in page] == [7.0]
    assert [r.group_wait_s for r in ticket] == [120.0]
