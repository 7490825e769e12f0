"""The shop's checkout path end to end: an order on `orders` becomes a charge on `payments`.

A hand-written dashboard: it knows the shop's routes, which no generator can. It uses the same building
blocks as the generated ones, so `bongsu check` validates its queries the same way.
"""

from __future__ import annotations

from bongsu import conventions
from bongsu.catalog import Catalog

from dashboards import panels
from dashboards.panels import Board, Query, dashboard, link, timeseries

UID = "shop-checkout-flow"
DURATION = conventions.HTTP_REQUEST_DURATION


def board(catalog: Catalog) -> Board | None:
    names = {s.name for s in catalog.services}
    if not {"orders", "payments"} <= names:
        return None
    orders, payments = catalog.service("orders"), catalog.service("payments")
    place = f'{orders.promql_selector},http_route="/orders",http_request_method="POST"'
    charge = f'{payments.promql_selector},http_route="/charges",http_request_method="POST"'

    def by_status(selector: str) -> str:
        return (f"sum by (http_response_status_code) "
                f"(rate({DURATION}_count{{{selector}}}[$__rate_interval]))")

    def p99(selector: str) -> str:
        return f"histogram_quantile(0.99, sum by (le) (rate({DURATION}_bucket{{{selector}}}[$__rate_interval])))"

    rows = [
        ("Checkout", [
            timeseries("Orders placed by status", [Query(by_status(place), "{{http_response_status_code}}")],
                       "reqps", minimum=0, description="201 paid or declined; 502 when payments failed."),
            timeseries("Charges by status", [Query(by_status(charge), "{{http_response_status_code}}")],
                       "reqps", minimum=0, description="402 is a declined card (a business outcome, not an error)."),
            timeseries("Checkout p99: order vs its charge", [Query(p99(place), "POST /orders"),
                                                             Query(p99(charge), "POST /charges")],
                       "s", minimum=0, description="The gap between the lines is the time orders spends itself."),
        ]),
    ]
    dash = dashboard(
        "Shop: checkout flow", UID, rows,
        description="Hand-written: the order-to-charge path across the shop's two services.",
        variables=[], links=[link("orders: RED", orders.red_dashboard_uid),
                             link("payments: RED", payments.red_dashboard_uid)],
        tags=["shop", "handwritten"], alertnames=[orders.slo_alert(s) for s in orders.slos],
    )
    team = catalog.team(orders.team)
    return panels.board(dash, team.folder_uid, team.name)
