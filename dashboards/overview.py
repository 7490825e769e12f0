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

from dashboards.panels import Board, Query, board, dashboard, link, query_variable, team_dashboards, timeseries
from dashboards.slo import SHORT, budget_remaining

PLATFORM_FOLDER_TITLE = "Bongsu"


def _targets_up(services: list[Service]) -> list[Query]:
    """One query for every service Prometheus finds by `job` alone, one each for the rest."""
    plain = [s for s in services if set(s.matchers) == {"job"}]
    queries = [Query(f'min by (job) (up{{job=~"{"|".join(s.matchers["job"] for s in plain)}"}})', "{{job}}")] \
        if plain else []
    return queries + [Query(f"min(up{{{s.promql_selector}}})", s.name) for s in services if s not in plain]


def _budgets(services: list[Service]) -> list[Query]:
    """Budget remaining per SLO: one query per (SLO name, window, budget) the team's services share."""
    shared: dict[tuple[str, str, float], list[str]] = {}
    for service in services:
        for slo in service.slos:
            shared.setdefault((slo.name, str(slo.window), slo.error_budget), []).append(service.name)
    queries = []
    for (name, _, _), names in shared.items():
        slo = next(o for s in services if s.name == names[0] for o in s.slos if o.name == name)
        scope = f'service=~"{"|".join(names)}",service=~"$service",slo="{name}"'
        queries.append(Query(budget_remaining(slo, scope), "{{service}} {{slo}}"))
    return queries


def _team_row(team: str, services: list[Service]) -> tuple[str, list]:
    """A team's row; every panel asks Prometheus once per team, not once per service, so the overview
    stays small (well under a ConfigMap's 1 MiB) for a thousand services."""
    names = "|".join(s.name for s in services)
    scope = f'service=~"{names}",service=~"$service"'
    up = timeseries(
        f"{team}: targets up", _targets_up(services),
        "short", minimum=0, maximum=1, thresholds=[("red", None), ("green", 1.0)],
        description="1 when Prometheus scrapes every instance of the service, 0 when one is down.")
    traffic = timeseries(
        f"{team}: request rate", [Query(f"max by (service) ({request_rate_record(SHORT)}{{{scope}}})", "{{service}}")],
        "reqps", minimum=0, description="Requests per second (5m), from the SLO recording rules.")
    errors = timeseries(
        f"{team}: SLO error ratio (5m)", [Query(f"{error_ratio_record(SHORT)}{{{scope}}}", "{{service}} {{slo}}")],
        "percentunit", minimum=0, description="Share of bad requests per SLO over the last 5 minutes.")
    budgets = timeseries(
        f"{team}: error budget remaining", _budgets(services),
        "percentunit", maximum=1, thresholds=[("red", None), ("orange", 0.0), ("green", 0.25)],
        description="Share of each SLO's window budget not yet spent.")
    # Every alert carries its team's label (docs/alerting.md), so one matcher covers them all.
    firing = timeseries(
        f"{team}: firing alerts", [Query(f'count by (alertname) (ALERTS{{alertstate="firing",team="{team}"}})',
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
    # A dropdown per team of its dashboards (by tag), rather than two links per service.
    links = [team_dashboards(team.name) for team in catalog.teams
             if any(s.team == team.name for s in catalog.services)]
    links += [link("Bongsu self-health", SELF_HEALTH_DASHBOARD_UID)]
    dash = dashboard(
        "Bongsu overview", OVERVIEW_DASHBOARD_UID, rows,
        description="Every service's health, error budget and firing alerts, grouped by team.",
        variables=[query_variable("service", f"label_values({error_ratio_record(SHORT)}, service)", "Service")],
        links=links, tags=["overview"], alertnames=[".+"],  # marks for every firing alert
        since="now-6h",
    )
    return board(dash, PLATFORM_FOLDER_UID, PLATFORM_FOLDER_TITLE)
