"""`bongsu runbooks scaffold`: drafts for missing runbooks that satisfy `bongsu check`, never overwriting."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bongsu.catalog import Catalog
from bongsu.cli import app
from alert_rules.runbooks import RUNBOOKS
from alert_rules.scaffold import DRAFT_NOTE
from alert_rules.verify import runbook_findings


def test_drafts_cover_every_alert_and_pass_the_runbook_check(tmp_path: Path, catalog: Catalog,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "runbooks"
    result = CliRunner().invoke(app, ["runbooks", "scaffold", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert "12 draft(s) written" in result.output
    # Hand-written alerts are not the catalog's: their runbooks come with them.
    shutil.copy(RUNBOOKS / "BongsuRuleEvaluationFailures.md", folder)
    monkeypatch.setenv("BONGSU_RUNBOOKS_DIR", str(folder))
    (finding,) = runbook_findings(catalog)
    assert finding.ok, finding.detail
    draft = (folder / "OrdersLatencyBudgetBurn.md").read_text()
    assert draft.startswith(f"# OrdersLatencyBudgetBurn\n\n{DRAFT_NOTE}\n")
    for specific in ("bongsu-slo-orders", 'slo:sli_error:ratio_rate5m{service="orders",slo="latency"} / 0.01',
                     "kubectl rollout undo deployment/orders", "500ms", "#storefront-oncall", "| page | 1h / 5m | 14.4x |"):
        assert specific in draft


def test_existing_runbooks_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "PaymentsTargetDown.md").write_text("# PaymentsTargetDown\nours\n")
    result = CliRunner().invoke(app, ["runbooks", "scaffold", "--dir", str(folder)])
    assert result.exit_code == 0 and "11 draft(s) written" in result.output
    assert (folder / "PaymentsTargetDown.md").read_text() == "# PaymentsTargetDown\nours\n"
    again = CliRunner().invoke(app, ["runbooks", "scaffold", "--dir", str(folder)])
    assert "0 draft(s) written" in again.output


def test_a_bad_catalog_is_reported_not_scaffolded(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("slack: {default_channel: '#a'}\nteams: []\nservices: [{name: x, team: nobody}]\n")
    result = CliRunner().invoke(app, ["runbooks", "scaffold", "--catalog", str(catalog), "--dir", str(tmp_path / "r")])
    assert result.exit_code == 2 and "services[0].team" in result.output
    assert not (tmp_path / "r").exists()
