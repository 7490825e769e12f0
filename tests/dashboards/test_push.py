"""`bongsu dashboards push` against a local stand-in for Grafana's HTTP API (tests/dashboards/fake_grafana.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bongsu.catalog import Catalog
from dashboards import PushError, boards, push
from dashboards.cli import app
from tests.dashboards.fake_grafana import FakeGrafana


def test_first_push_creates_team_folders_and_every_dashboard(catalog: Catalog, grafana: FakeGrafana) -> None:
    made = boards(catalog)
    results = push(made, grafana.url, "editor-token")
    assert {r.outcome for r in results} == {"created"}
    assert set(grafana.dashboards) == {b.uid for b in made}
    assert set(grafana.folders) == {"bongsu-platform", "bongsu-team-payments", "bongsu-team-storefront"}
    assert grafana.dashboards["bongsu-red-payments"]["folderUid"] == "bongsu-team-payments"
    assert grafana.dashboards["bongsu-overview"]["folderUid"] == "bongsu-platform"
    assert results[0].url.startswith(grafana.url + "/d/")


def test_second_push_changes_nothing_and_a_changed_one_is_overwritten(catalog: Catalog,
                                                                       grafana: FakeGrafana) -> None:
    made = boards(catalog)
    push(made, grafana.url, "editor-token")
    writes = len(grafana.writes)
    again = push(made, grafana.url, "editor-token")
    assert {r.outcome for r in again} == {"unchanged"}
    assert len(grafana.writes) == writes  # idempotent: no new dashboard versions
    grafana.dashboards["bongsu-slo-orders"]["dashboard"]["title"] = "edited by hand in Grafana"
    third = {r.uid: r.outcome for r in push(made, grafana.url, "editor-token")}
    assert third["bongsu-slo-orders"] == "updated"
    assert [o for uid, o in third.items() if uid != "bongsu-slo-orders"] == ["unchanged"] * (len(made) - 1)
    assert grafana.dashboards["bongsu-slo-orders"]["dashboard"]["title"] == "orders: SLOs"
    assert grafana.dashboards["bongsu-slo-orders"]["dashboard"]["version"] == 2


def test_a_rejected_token_is_a_clear_401_without_the_token(catalog: Catalog, grafana: FakeGrafana) -> None:
    with pytest.raises(PushError) as caught:
        push(boards(catalog), grafana.url, "wrong-secret-token")
    message = str(caught.value)
    assert "401" in message and "GRAFANA_TOKEN" in message
    assert "wrong-secret-token" not in message
    assert grafana.writes == []


def test_a_viewer_token_is_a_clear_403(catalog: Catalog, grafana: FakeGrafana) -> None:
    with pytest.raises(PushError, match=r"403 Forbidden.*Editor role"):
        push(boards(catalog), grafana.url, "viewer-token")


def test_a_title_taken_by_another_uid_is_a_clear_412(catalog: Catalog, grafana: FakeGrafana) -> None:
    made = boards(catalog)
    push(made, grafana.url, "editor-token")
    # Someone renamed ours by hand and made their own dashboard with our title in the same folder.
    grafana.dashboards["bongsu-slo-payments"]["dashboard"]["title"] = "renamed by hand"
    grafana.dashboards["someone-elses"] = {
        "dashboard": {"uid": "someone-elses", "title": "payments: SLOs", "id": 99, "version": 1},
        "folderUid": "bongsu-team-payments"}
    with pytest.raises(PushError, match=r"412 name-exists.*different UID; rename or delete it") as caught:
        push(made, grafana.url, "editor-token")
    assert "'payments: SLOs' (bongsu-slo-payments)" in str(caught.value)


def test_missing_token_and_unreachable_grafana_are_clear(catalog: Catalog) -> None:
    with pytest.raises(PushError, match="set GRAFANA_TOKEN"):
        push(boards(catalog), "http://127.0.0.1:9", "")
    with pytest.raises(PushError, match="cannot reach Grafana at http://127.0.0.1:9"):
        push(boards(catalog), "http://127.0.0.1:9", "token")


def test_cli_push_reads_the_token_from_the_environment(grafana: FakeGrafana) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["push", "--grafana-url", grafana.url], env={"GRAFANA_TOKEN": "editor-token"})
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "8 dashboards in Grafana" in result.output
    again = runner.invoke(app, ["push", "--grafana-url", grafana.url], env={"GRAFANA_TOKEN": "editor-token"})
    assert "0 changed" in again.output
    denied = runner.invoke(app, ["push", "--grafana-url", grafana.url], env={"GRAFANA_TOKEN": "nope"})
    assert denied.exit_code == 1
    assert "401" in denied.output and "Traceback" not in denied.output
