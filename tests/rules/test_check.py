"""`bongsu check` on the demo catalog, and the runbook coverage it enforces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bongsu.catalog import Catalog
from bongsu.cli import app
from alert_rules.runbooks import RUNBOOKS, SECTIONS
from alert_rules.verify import rule_lint, runbook_findings


def test_bongsu_check_passes_on_the_demo_catalog() -> None:
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    for expected in ("promtool check rules", "promtool test rules", "amtool check-config",
                     "amtool route: payments availability page reaches team payments",
                     "alert labels and annotations", "runbooks for 13 alerts"):
        assert f"ok   {expected}" in result.output, result.output


def test_every_demo_runbook_has_real_content(catalog: Catalog) -> None:
    for path in sorted(RUNBOOKS.glob("*.md")):
        if path.name == "TEMPLATE.md":
            continue
        text = path.read_text()
        assert text.startswith(f"# {path.stem}\n")
        for section in SECTIONS:
            body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
            assert len(body.split()) >= 25, f"{path.name}: {section} is too thin"
        assert "```" in text or "`" in text  # queries or commands to run
    for service in catalog.services:
        for slo in service.slos:
            text = (RUNBOOKS / f"{service.slo_alert(slo)}.md").read_text()
            assert service.slo_dashboard_uid in text and "promql" in text
            assert "rollout undo" in text  # how to roll back


def _runbooks_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, folder)
    return folder


def _runbook_finding(catalog: Catalog):
    (finding,) = runbook_findings(catalog)
    return finding


def test_an_alert_without_a_runbook_fails_check(tmp_path: Path, catalog: Catalog,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _runbooks_copy(tmp_path)
    (folder / "OrdersLatencyBudgetBurn.md").unlink()
    monkeypatch.setenv("BONGSU_RUNBOOKS_DIR", str(folder))
    finding = _runbook_finding(catalog)
    assert not finding.ok and "alert OrdersLatencyBudgetBurn has no runbook" in finding.detail


def test_a_runbook_without_an_alert_fails_check(tmp_path: Path, catalog: Catalog,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _runbooks_copy(tmp_path)
    shutil.copy(folder / "OrdersLatencyBudgetBurn.md", folder / "OrdersLatencyBurn.md")
    monkeypatch.setenv("BONGSU_RUNBOOKS_DIR", str(folder))
    finding = _runbook_finding(catalog)
    assert not finding.ok and "runbook runbooks/OrdersLatencyBurn.md has no alert" in finding.detail


def test_a_runbook_missing_a_section_fails_check(tmp_path: Path, catalog: Catalog,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _runbooks_copy(tmp_path)
    path = folder / "PaymentsTargetDown.md"
    path.write_text(path.read_text().replace("## Mitigation", "## Fixes"))
    monkeypatch.setenv("BONGSU_RUNBOOKS_DIR", str(folder))
    finding = _runbook_finding(catalog)
    assert not finding.ok and "PaymentsTargetDown.md lacks section(s): Mitigation" in finding.detail


def test_a_handwritten_alert_without_labels_fails_the_lint(tmp_path: Path, built: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(built, out)
    (lint,) = rule_lint(out)
    assert lint.ok, lint.detail
    bad = out / "prometheus" / "rules" / "handwritten-bad.rules.yaml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - alert: Naked\n    expr: vector(1)\n")
    (lint,) = rule_lint(out)
    assert not lint.ok and "Naked lacks label severity, annotation summary" in lint.detail


def test_a_scrape_interval_too_long_for_the_5m_window_fails_check(tmp_path: Path, catalog) -> None:
    from bongsu.catalog import Duration
    from alert_rules.verify import scrape_interval_finding

    from tests.rules.conftest import options

    (ok,) = scrape_interval_finding(catalog, options(tmp_path, scrape_interval=Duration.parse("1m")))
    assert ok.ok
    (bad,) = scrape_interval_finding(catalog, options(tmp_path, scrape_interval=Duration.parse("2m")))
    assert not bad.ok and "scrape at least every 75s" in bad.detail
