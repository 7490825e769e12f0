"""Per service, the RED dashboard: rate, errors and duration by route, in-flight requests, saturation.

Built from the SDK's raw series (docs/contracts.md), so it works even before any SLO is declared.
"""

from __future__ import annotations

from bongsu import conventions
from bongsu.catalog import OVERVIEW_DASHBOARD_UID, Catalog, Service

from dashboards.panels import Board, Query, board, dashboard, fixed_variable, link, query_variable, timeseries

DURATION = conventions.HTTP_REQUEST_DURATION
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def _selector(service: Service, route: bool = True) -> str:
    return service.promql_selector + (',http_route=~"$route"' if route else "")


def request_rate(service: Service) -> str:
    return f"sum by (http_route) (rate({DURATION}_count{{{_selector(service)}}}[$__rate_interval]))"


def error_ratio(service: Service) -> str:
    """5xx share per route; routes without a single 5xx show 0 rather than no data."""
    total = request_rate(service)
    failed = (f"sum by (http_route) (rate({DURATION}_count{{{_selector(service)},"
              f"{conventions.SERVER_ERROR_MATCHER}}}[$__rate_interval]))")
    return f"({failed} / {total}) or ({total} * 0)"


def latency(service: Service, quantile: float) -> str:
    return (f"histogram_quantile({quantile}, sum by (le, http_route) "
            f"(rate({DURATION}_bucket{{{_selector(service)}}}[$__rate_interval])))")


def red_board(catalog: Catalog, service: Service) -> Board:
    availability = [slo for slo in service.slos if slo.sli == "http_availability"]
    latency_slos = [slo for slo in service.slos if slo.sli == "http_latency"]
    error_lines = [("green", None)] + [("red", min(slo.error_budget for slo in availability))] if availability else ()
    latency_lines = ([("green", None)] + [("red", min(slo.threshold.seconds for slo in latency_slos))]
                     if latency_slos else ())
    sel = _selector(service, route=False)
    rows = [
        ("Requests", [
            timeseries("Request rate by route", [Query(request_rate(service), "{{http_route}}")], "reqps",
                       minimum=0, description="Requests per second the service answered, per route template."),
            timeseries("Error ratio (5xx) by route", [Query(error_ratio(service), "{{http_route}}")],
                       "percentunit", minimum=0, thresholds=error_lines,
                       description="Share of requests answered with a 5xx. The red line is the tightest "
                                   "availability SLO's error budget."),
            timeseries("Active requests", [Query(
                f"sum by (http_request_method) ({conventions.HTTP_ACTIVE_REQUESTS}{{{sel}}})",
                "{{http_request_method}}")], "short", minimum=0,
                description="Requests in flight right now; a climbing line means work piles up."),
        ]),
        ("Latency by route", [
            timeseries(f"Latency {name} by route", [Query(latency(service, q), "{{http_route}}")], "s",
                       minimum=0, thresholds=latency_lines,
                       description=f"{name} of request duration. The red line is the tightest latency "
                                   "SLO's threshold.")
            for name, q in QUANTILES
        ]),
        ("Saturation", [
            timeseries("CPU (share of one core)", [Query(
                f"sum by (instance) (rate(process_cpu_seconds_total{{{sel}}}[$__rate_interval]))",
                "{{instance}}")], "percentunit", minimum=0, thresholds=[("green", None), ("orange", 0.8)],
                description="CPU seconds per second; 100% is one full core (Python runs one core per process)."),
            timeseries("Resident memory", [Query(
                f"sum by (instance) (process_resident_memory_bytes{{{sel}}})", "{{instance}}")],
                "bytes", minimum=0),
        ]),
    ]
    links = [link(f"{service.name}: SLOs", service.slo_dashboard_uid), link("Overview", OVERVIEW_DASHBOARD_UID)]
    links += [link(f"Experiment: {e.name}", e.dashboard_uid) for e in catalog.experiments if e.service == service.name]
    dash = dashboard(
        f"{service.name}: RED", service.red_dashboard_uid, rows,
        description=f"Rate, errors and duration of {service.name}. {service.description}".strip(),
        variables=[fixed_variable("service", service.name, "Service"),
                   query_variable("route", f"label_values({DURATION}_count{{{sel}}}, http_route)", "Route")],
        links=links, tags=["red", f"service:{service.name}", f"team:{service.team}"],
        alertnames=[service.target_down_alert, service.metrics_absent_alert,
                    *(service.slo_alert(slo) for slo in service.slos)],
    )
    team = catalog.team(service.team)
    return board(dash, team.folder_uid, team.name)
