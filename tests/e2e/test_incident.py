"""The end-to-end loop against real servers, exactly what `bongsu demo` runs (the payments-bad-deploy
drill): deploying payments 1.5.0 pages the payments team through real Prometheus and Alertmanager, the
page carries the bug's evidence and deploy note, Roll back (a signed click) restores 1.4.2, it resolves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from bongsu import observe
from bongsu.demo import _render, run_incident
from bongsu.stack import Stack
from chaos.postmortem import write_postmortem
from chaos.stackfile import read_stack_file
from examples.shop.releases import build, known_bug

pytestmark = pytest.mark.e2e


def test_bad_deploy_pages_with_evidence_rolls_back_and_resolves(demo_stack: Stack, tmp_path: Path) -> None:
    payments = demo_stack.settings.catalog.service("payments")
    availability = next(s for s in payments.slos if s.sli == "http_availability")
    alertname = payments.slo_alert(availability)

    result = run_incident(demo_stack, Console(stderr=True))

    assert result.alertname == alertname and result.verdict in {"detected", "late"}, result.reason
    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "completed" and not journal["deviated"]
    at = result.measurement["moments"]
    # Fired in Prometheus, was routed by Alertmanager and delivered after the fault; resolved and the
    # resolution delivered after the clear. (Observed moments come from pollers and the notifier's own
    # delivery time, so only their order relative to the fault and the clear is exact.)
    assert all(at["injected"] < at[k] < at["cleared"] for k in ("firing", "routed", "notified"))
    assert all(at["cleared"] < at[k] for k in ("resolved", "resolution_notified"))
    assert all(result.measurement["intervals"][k] > 0 for k in ("detect_s", "notify_s", "resolve_s"))
    # Explain and recover: evidence after the page, the good build back after the click.
    assert at["notified"] <= at["evidence"] < at["cleared"] < at["recovered"] < at["resolved"]
    assert result.measurement["intervals"]["evidence_s"] > 0 and result.measurement["intervals"]["recover_s"] > 0
    # The notifier picked the team's channel from the catalog, and the labels the on-call reads are there.
    page = observe.delivery_for(demo_stack.urls["notifier"], demo_stack.webhook_token, alertname, "firing")
    assert page is not None and page["channel"] == "#payments-oncall"
    labels = next(a["labels"] for a in page["alerts"] if a["labels"]["alertname"] == alertname)
    assert labels["service"] == "payments" and labels["team"] == "payments" and labels["severity"] == "page"
    assert labels["long_window"] == "1h" and labels["short_window"] == "5m"
    resolved = observe.delivery_for(demo_stack.urls["notifier"], demo_stack.webhook_token, alertname, "resolved")
    assert resolved is not None and resolved["thread_ts"] == page["thread_ts"]
    # The rendered page names the bug, its line, the bad build and its commit, and the deploy.
    bug, bad, good = known_bug("payments", "1.5.0"), build("payments", "1.5.0"), build("payments", "1.4.2")
    shown = _render(demo_stack, page, True)
    assert bug.exception_type in shown and f"fees_1_5_0.py:{bug.line}" in shown, shown
    assert f"deployed 1.5.0 (commit {bad.revision[:7]})" in shown and f"previous 1.4.2 ({good.revision[:7]})" in shown
    after = _render(demo_stack, resolved, False)
    assert "Roll back of payments from 1.5.0 to 1.4.2 by drill-u0demopay1" in after and "succeeded" in after, after
    assert json.loads((demo_stack.run_dir / "stack.json").read_text())["builds"]["payments"]["version"] == "1.4.2"
    # The post-mortem timeline carries the rollback record.
    journal_doc = json.loads(result.journal_path.read_text())
    draft = write_postmortem(demo_stack.settings.catalog, read_stack_file(demo_stack.run_dir / "stack.json"),
                             at["injected"] - 60, at["resolution_notified"] + 5, tmp_path / "pm.md", journal_doc)
    text = draft.read_text()
    assert "Roll back of payments from 1.5.0 to 1.4.2 pressed by drill-u0demopay1 (U0DEMOPAY1)" in text, text
    assert "rollback of payments to 1.4.2 succeeded" in text
    # And the real servers agree now: inactive in Prometheus, no longer active in Alertmanager.
    assert observe.alert_state(demo_stack.urls["prometheus"], alertname, {"service": "payments"}) == "inactive"
    assert observe.alertmanager_alerts(demo_stack.urls["alertmanager"], alertname) == []


def test_prometheus_scrapes_every_shop_service(demo_stack: Stack) -> None:
    for service in demo_stack.services:
        up = observe.wait_for(lambda: observe.query(demo_stack.urls["prometheus"], f'up{{job="{service}"}} == 1'),
                              60, f"{service} scraped")
        assert up[0][1] == 1.0
