"""The overview: every service's health, error budget and firing alerts, one row per team."""

from __future__ import annotations

from bongsu.catalog import (
    OVERVIEW_DASHBOARD_UID,
    PLATFORM_FOLDER_UID,
    SELF_HEALTH_DASHBOARD_UID,
    Catalog,
    Service,
    error_ratio_record,
    request_rate_record,
)

from dashboards.panels import Board, Query, board, choice_variable, dashboard, link, timeseries
from dashboards.slo import SHORT, budget_remaining

PLATFORM_FOLDER_TITLE = "Bongsu"


def _alertnames(service: Service) -> list[str]:
    return [service.target_down_alert, service.metrics_absent_alert, *(service.slo_alert(s) for s in service.slos)]


def _team_row(team: str, services: list[Service]) -> tuple[str, list]:
    names = "|".join(s.name for s in services)
    scope = f'service=~"{names}",service=~"$service"'
    up = timeseries(
        f"{team}: targets up", [Query(f"min(up{{{s.promql_selector}}})", s.name) for s in services],
        "short", minimum=0, maximum=1, thresholds=[("red", None), ("green", 1.0)],
        description="1 when Prometheus scrapes every instance of the service, 0 when one is down.")
    traffic = timeseries(
        f"{team}: request rate", [Query(f"max by (service) ({request_rate_record(SHORT)}{{{scope}}})", "{{service}}")],
        "reqps", minimum=0, description="Requests per second (5m), from the SLO recording rules.")
    errors = timeseries(
        f"{team}: SLO error ratio (5m)", [Query(f"{error_ratio_record(SHORT)}{{{scope}}}", "{{service}} {{slo}}")],
        "percentunit", minimum=0, description="Share of bad requests per SLO over the last 5 minutes.")
    budgets = timeseries(
        f"{team}: error budget remaining", [
            Query(budget_remaining(slo, f'service="{s.name}",service=~"$service",slo="{slo.name}"'),
                  f"{s.name} {slo.name}")
            for s in services for slo in s.slos],
        "percentunit", maximum=1, thresholds=[("red", None), ("orange", 0.0), ("green", 0.25)],
        description="Share of each SLO's window budget not yet spent.")
    alertnames = "|".join(name for s in services for name in _alertnames(s))
    firing = timeseries(
        f"{team}: firing alerts", [Query(f'count by (alertname) (ALERTS{{alertstate="firing",alertname=~"{alertnames}"}})',
                                "{{alertname}}")],
        "short", minimum=0, incident_only=True, description="Alerts of this team's services that are firing.")
    panels = [up, traffic, errors] + ([budgets] if any(s.slos for s in services) else []) + [firing]
    return f"Team {team}", panels


def overview_board(catalog: Catalog) -> Board:
    rows = []
    for team in catalog.teams:
        services = [s for s in catalog.services if s.team == team.name]
        if services:
            rows.append(_team_row(team.name, services))
    links = [link(f"{s.name}: {kind}", uid) for s in catalog.services
             for kind, uid in (("RED", s.red_dashboard_uid), ("SLOs", s.slo_dashboard_uid))]
    links += [link("Bongsu self-health", SELF_HEALTH_DASHBOARD_UID)]
    dash = dashboard(
        "Bongsu overview", OVERVIEW_DASHBOARD_UID, rows,
        description="Every service's health, error budget and firing alerts, grouped by team.",
        variables=[choice_variable("service", [s.name for s in catalog.services], "Service", include_all=True)],
        links=links, tags=["overview"], alertnames=[a for s in catalog.services for a in _alertnames(s)],
        since="now-6h",
    )
    return board(dash, PLATFORM_FOLDER_UID, PLATFORM_FOLDER_TITLE)

