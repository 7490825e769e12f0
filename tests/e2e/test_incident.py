"""The Foundation's end-to-end loop against real servers: a fault in payments pages the payments team
through real Prometheus and Alertmanager and reaches the notifier, then resolves."""

from __future__ import annotations

import pytest
from rich.console import Console

from bongsu import observe
from bongsu.demo import run_incident
from bongsu.stack import Stack

pytestmark = pytest.mark.e2e


def test_payments_error_burst_pages_and_resolves(demo_stack: Stack) -> None:
    catalog = demo_stack.settings.catalog
    payments = catalog.service("payments")
    availability = next(s for s in payments.slos if s.sli == "http_availability")
    alertname = payments.slo_alert(availability)

    timeline = run_incident(demo_stack, Console(stderr=True))

    # Fired in Prometheus, after the fault and not before.
    assert 0 < timeline.between("fault", "firing") < 240
    # Routed by the real Alertmanager (seen through its v2 API) to the payments team's receiver.
    assert any("payments" in receiver for receiver in timeline.receivers), timeline.receivers
    # Reached the notifier, which picked the team's channel from the catalog.
    deliveries = observe.deliveries(demo_stack.urls["notifier"], demo_stack.webhook_token)
    firing = [d for d in deliveries if d["status"] == "firing"
              and any(a["labels"].get("alertname") == alertname for a in d["alerts"])]
    assert firing, f"no firing delivery for {alertname}: {deliveries}"
    page = firing[0]
    assert page["channel"] == "#payments-oncall"
    labels = next(a["labels"] for a in page["alerts"] if a["labels"]["alertname"] == alertname)
    assert labels["service"] == "payments" and labels["team"] == "payments" and labels["severity"] == "page"
    # Then resolved, in Prometheus and at the notifier, after the fault was cleared.
    assert observe.alert_state(demo_stack.urls["prometheus"], alertname, {"service": "payments"}) == "inactive"
    resolved = observe.delivery_for(demo_stack.urls["notifier"], demo_stack.webhook_token, alertname, "resolved")
    assert resolved is not None and resolved["channel"] == "#payments-oncall"
    assert timeline.marks["cleared"] < timeline.marks["resolved"] <= timeline.marks["resolution_notified"]


def test_prometheus_scrapes_every_shop_service(demo_stack: Stack) -> None:
    for service in demo_stack.services:
        up = observe.wait_for(lambda: observe.query(demo_stack.urls["prometheus"], f'up{{job="{service}"}} == 1'),
                              60, f"{service} scraped")
        assert up[0][1] == 1.0
