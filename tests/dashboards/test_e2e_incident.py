"""End to end during a real incident: the panels declared incident-only do fill with data.

Runs its own stack (not the shared `demo_stack`), because the fault it injects leaves burn-rate alerts
firing for minutes, which would confuse other tests of the session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from bongsu.catalog import load_catalog
from bongsu.stack import Stack, StackSettings
from dashboards import boards, panel_data, render_panels, to_json
from tests.conftest import require_binaries

pytestmark = pytest.mark.e2e
INCIDENT_S = 150
# Incident-only panels a failing service lights up. The others need their own faults: SDK drops and
# cardinality overflow (an unreachable exporter, a label explosion), delivery retries and failures
# (Slack answering errors); they are only checked to be valid queries.
LIT_BY_ERRORS = {
    "bongsu-slo-payments": {"availability: alerts"},
    "bongsu-overview": {"payments: firing alerts"},
    "bongsu-self-health": {"Webhooks received", "Deliveries", "Delivery latency"},
}


@pytest.fixture(scope="module")
def incident_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_binaries()
    settings = StackSettings(catalog=load_catalog(), run_dir=tmp_path_factory.mktemp("incident-stack"))
    with Stack(settings, Console(stderr=True)) as stack:
        yield stack


def _dark(stack: Stack) -> list[str]:
    """Panels of LIT_BY_ERRORS that still have a query without data over the last 3 minutes."""
    end = datetime.now(timezone.utc)
    dark = []
    for board in boards(stack.settings.catalog):
        wanted = LIT_BY_ERRORS.get(board.uid, set())
        assert wanted <= board.incident_only, f"{board.uid}: {wanted - board.incident_only} not declared"
        for panel in panel_data(to_json(board), stack.urls["prometheus"], end - timedelta(minutes=3), end,
                                panels=sorted(wanted), scrape_interval_s=stack.settings.scrape_interval.seconds):
            assert panel.errors == [], panel.errors
            if panel.empty_queries():
                dark.append(f"{board.uid} / {panel.title} (queries {', '.join(panel.empty_queries())})")
    return dark


def test_incident_only_panels_light_up_when_payments_fails(incident_stack: Stack, tmp_path: Path) -> None:
    dark_before = _dark(incident_stack)
    assert "bongsu-overview / payments: firing alerts (queries A)" in dark_before  # quiet before the incident
    fault = httpx.post(f"{incident_stack.urls['payments']}/fault", timeout=10,
                       headers={"Authorization": f"Bearer {incident_stack.fault_token}"},
                       json={"error_rate": 1.0, "latency_ms": 0, "duration_s": INCIDENT_S})
    assert fault.status_code == 200, fault.text
    deadline = time.monotonic() + INCIDENT_S
    dark = _dark(incident_stack)
    while dark and time.monotonic() < deadline:
        time.sleep(5)
        dark = _dark(incident_stack)
    assert dark == [], "incident-only panels still empty during the incident:\n" + "\n".join(dark)
    slo = next(to_json(b) for b in boards(incident_stack.settings.catalog) if b.uid == "bongsu-slo-payments")
    end = datetime.now(timezone.utc)
    rendered = render_panels(slo, incident_stack.urls["prometheus"], tmp_path / "slo-payments.png",
                             start=end - timedelta(minutes=3), end=end, panels=["availability: SLI vs objective"],
                             scrape_interval_s=incident_stack.settings.scrape_interval.seconds)
    lowest = min(v for p in rendered.panels for s in p.series for v in s.values if v == v)
    assert lowest < 0.9, "the SLI panel does not show payments failing"
