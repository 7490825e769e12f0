"""Per service, the SLO dashboard: SLI against objective, budget left, burn rate per alert tier, alerts.

Reads only the recording rules named in bongsu/catalog.py (`error_ratio_record`), which the alert rules
generator writes, so the dashboard shows exactly what the alerts evaluate.
"""

from __future__ import annotations

from bongsu.catalog import (
    BUDGET_REMAINING_RECORD,
    OVERVIEW_DASHBOARD_UID,
    MIN_WINDOW,
    SLO,
    Catalog,
    Service,
    error_ratio_record,
)

from dashboards.panels import Board, Query, board, dashboard, fixed_variable, link, timeseries

# The shortest window every SLO with the default tiers records (the overview charts it for all of them).
SHORT = MIN_WINDOW

def slo_labels(slo: SLO) -> str:
    return f'service="$service",slo="{slo.name}"'


def budget_remaining(slo: SLO, labels: str) -> str:
    """Share of the window's error budget not yet spent: 1 at the start, 0 when spent, below 0 over.

    The recording the alert rules write (`BUDGET_REMAINING_RECORD`), from the counters over the whole
    SLO window, so the panel, the BudgetExhausted ticket and the Slack message show the same number.
    """
    return f"{BUDGET_REMAINING_RECORD}{{{labels}}}"


def _slo_row(service: Service, slo: SLO) -> tuple[str, list, list]:
    labels = slo_labels(slo)
    short, long = slo.recording_windows[0], slo.burn_rate_tiers[0].long
    what = (f"requests faster than {slo.threshold}" if slo.threshold else "requests without a 5xx")
    sli = timeseries(
        f"{slo.name}: SLI vs objective", [Query(f"1 - {error_ratio_record(short)}{{{labels}}}", f"SLI ({short})"),
                             Query(f"1 - {error_ratio_record(long)}{{{labels}}}", f"SLI ({long})")],
        "percentunit", maximum=1, thresholds=[("red", None), ("green", slo.objective / 100)],
        description=f"Share of {what}. The line is the objective, {slo.objective:g}%.")
    budget = timeseries(
        f"{slo.name}: error budget remaining ({slo.window.human()} window)", [Query(budget_remaining(slo, labels), "remaining")],
        "percentunit", maximum=1, thresholds=[("red", None), ("orange", 0.0), ("green", 0.25)],
        description=f"The {slo.window.human()} error budget allows {slo.error_budget:.3%} bad requests; "
                    "below 0 the SLO is broken for the window.")
    tiers = [
        timeseries(
            f"{slo.name}: burn rate {tier.windows} ({tier.severity}, {tier.factor():g}x)",
            [Query(f"{error_ratio_record(window)}{{{labels}}} / {slo.error_budget:g}", f"{window} window")
             for window in (tier.long, tier.short)],
            "suffix:x", minimum=0, thresholds=[("green", None), ("red", tier.factor())],
            description=f"How fast the budget burns (1x spends it exactly over {slo.window}). The {tier.severity} "
                        f"alert fires when both windows are above {tier.factor():g}x.")
        for tier in slo.burn_rate_tiers
    ]
    firing = timeseries(
        f"{slo.name}: alerts", [Query(f'sum by (alertstate, severity) (ALERTS{{alertname="{service.slo_alert(slo)}"}})',
                                      "{{severity}} {{alertstate}}")],
        "short", minimum=0, incident_only=True,
        description=f"{service.slo_alert(slo)} rules that are pending or firing, by severity.")
    title = f"{slo.name}: {slo.objective:g}% over {slo.window}"
    return title, [sli, budget, firing], tiers


def slo_board(catalog: Catalog, service: Service) -> Board:
    rows: list = []
    for slo in service.slos:
        title, top, tiers = _slo_row(service, slo)
        rows += [(title, top), (None, tiers)]
    links = [link(f"{service.name}: RED", service.red_dashboard_uid), link("Overview", OVERVIEW_DASHBOARD_UID)]
    dash = dashboard(
        f"{service.name}: SLOs", service.slo_dashboard_uid, rows,
        description=f"Service level objectives of {service.name}, with the burn rates the alerts use.",
        variables=[fixed_variable("service", service.name, "Service")], links=links,
        tags=["slo", f"service:{service.name}", f"team:{service.team}"],
        alertnames=[alert for slo in service.slos
                    for alert in (service.slo_alert(slo), service.budget_exhausted_alert(slo))]
        or [service.target_down_alert],
        since="now-6h",
    )
    team = catalog.team(service.team)
    return board(dash, team.folder_uid, team.name)
