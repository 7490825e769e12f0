"""Prometheus rule groups from the catalog: SLO burn-rate rules and per-service symptom alerts.

Plain dicts in Prometheus' rule-file shape, so the same data feeds `DIR/prometheus/rules/`, the
PrometheusRule objects and the generated unit tests.
"""

from __future__ import annotations

from bongsu.catalog import (
    SLO,
    TIERS,
    BurnRateTier,
    Catalog,
    Service,
    error_ratio_record,
    recording_windows,
    request_rate_record,
)

# The SDK's request histogram (docs/contracts.md); both SLIs read it.
REQUESTS = "http_server_request_duration_seconds"
# How a burn rate is shown in descriptions. Generated unit tests format expected values the same way.
BURN_FORMAT = "%.2f"
BURN_TEMPLATE = f'{{{{ $value | printf "{BURN_FORMAT}" }}}}'
TARGET_DOWN_FOR = "1m"
METRICS_ABSENT_FOR = "15m"


def le_matcher(seconds: float) -> str:
    """A regex for the `le` label of one bucket, whichever client wrote it ("1" in Go, "1.0" in Python)."""
    spellings = {f"{seconds:g}", repr(float(seconds))}
    return "|".join(sorted(s.replace(".", "\\\\.") for s in spellings))


def sli_error_ratio(service: Service, slo: SLO, window: str) -> str:
    """Share of bad requests over `window`: 5xx for availability, slower than the threshold for latency."""
    sel = service.promql_selector
    total = f"sum(rate({REQUESTS}_count{{{sel}}}[{window}]))"
    if slo.sli == "http_availability":
        errors = f'sum(rate({REQUESTS}_count{{{sel},http_response_status_code=~"5.."}}[{window}]))'
        # No 5xx series yet means no errors, not "unknown": `or vector(0)` keeps the ratio defined.
        return f"({errors} or vector(0))\n/\n{total}"
    assert slo.threshold is not None  # the model guarantees it for latency SLOs
    good = f'sum(rate({REQUESTS}_bucket{{{sel},le=~"{le_matcher(slo.threshold.seconds)}"}}[{window}]))'
    return f"1 - (\n  {good}\n  /\n  {total}\n)"


def slo_labels(service: Service, slo: SLO) -> dict[str, str]:
    return {"service": service.name, "slo": slo.name}


def _series(record: str, labels: dict[str, str]) -> str:
    return record + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def tier_labels(service: Service, slo: SLO, tier: BurnRateTier) -> dict[str, str]:
    """Labels of one tier's alert: routing (team, severity) and which windows fired."""
    return {"severity": tier.severity, "team": service.team, "service": service.name, "slo": slo.name,
            "long_window": str(tier.long), "short_window": str(tier.short)}


def sli_words(slo: SLO) -> str:
    if slo.sli == "http_availability":
        return f"{slo.objective:g}% of requests answered without a 5xx"
    return f"{slo.objective:g}% of requests served within {slo.threshold}"


def tier_annotations(catalog: Catalog, service: Service, slo: SLO, tier: BurnRateTier,
                     burn: str = BURN_TEMPLATE) -> dict[str, str]:
    """`burn` is the template Prometheus fills in; generated tests pass the value they expect."""
    factor = tier.factor(slo.window)
    window = slo.window.human()
    annotations = {
        "summary": f"{service.name} is burning its {slo.name} error budget too fast "
                   f"({tier.long}/{tier.short} windows, {tier.severity})",
        "description": (
            f"{service.name} is burning the {window} error budget of its {slo.name} SLO "
            f"({sli_words(slo)}) {burn}x faster than sustainable "
            f"over the last {tier.long}, and still above the threshold over the last {tier.short}. "
            f"This {tier.severity} fires above {factor:g}x, which spends "
            f"{tier.budget_consumed:.0%} of the budget within {tier.long}."),
        "runbook_url": catalog.links.runbook_url(service.slo_alert(slo)),
        "dashboard_url": catalog.links.dashboard_url(service.slo_dashboard_uid),
    }
    return {key: value for key, value in annotations.items() if value is not None}  # no Grafana: no link


def tier_expr(service: Service, slo: SLO, tier: BurnRateTier) -> str:
    """Both windows above the tier's burn rate, and enough traffic in the long window to judge.

    The alert's value is the long window's burn rate, which the description shows.
    """
    labels = slo_labels(service, slo)
    budget = f"{slo.error_budget:.10g}"
    factor = f"{tier.factor(slo.window):g}"
    long_ratio = _series(error_ratio_record(tier.long), labels)
    short_ratio = _series(error_ratio_record(tier.short), labels)
    expr = (f"{long_ratio} / {budget} > {factor}\n"
            f"and on(service, slo)\n"
            f"{short_ratio} / {budget} > {factor}")
    if slo.min_request_rate > 0:
        rate = _series(request_rate_record(tier.long), labels)
        expr += f"\nand on(service, slo)\n{rate} >= {slo.min_request_rate:g}"
    return expr


def slo_group(catalog: Catalog, service: Service, slo: SLO) -> dict:
    """One group per SLO, recording rules first so its alerts read this evaluation's values."""
    labels = slo_labels(service, slo)
    rules: list[dict] = []
    for window in recording_windows():
        rules.append({"record": error_ratio_record(window),
                      "expr": sli_error_ratio(service, slo, str(window)), "labels": dict(labels)})
    for window in recording_windows():
        rules.append({"record": request_rate_record(window),
                      "expr": f"sum(rate({REQUESTS}_count{{{service.promql_selector}}}[{window}]))",
                      "labels": dict(labels)})
    for tier in TIERS:
        rules.append({"alert": service.slo_alert(slo), "expr": tier_expr(service, slo, tier),
                      "labels": tier_labels(service, slo, tier),
                      "annotations": tier_annotations(catalog, service, slo, tier)})
    return {"name": f"bongsu-slo-{service.name}-{slo.name}", "rules": rules}


def symptom_group(catalog: Catalog, service: Service) -> dict:
    """Scrape target down (page), and SDK metrics absent while the target is up (ticket)."""
    sel = service.promql_selector
    base = {"team": service.team, "service": service.name}
    red = catalog.links.dashboard_url(service.red_dashboard_uid)
    down, absent = service.target_down_alert, service.metrics_absent_alert
    return {"name": f"bongsu-symptoms-{service.name}", "rules": [
        {"alert": down, "expr": f"max(up{{{sel}}}) == 0", "for": TARGET_DOWN_FOR,
         "labels": {"severity": "page", **base},
         "annotations": {
             "summary": f"{service.name} cannot be scraped: every target is down",
             "description": (f"Prometheus has failed to scrape every {service.name} target ({sel}) for at "
                             f"least {TARGET_DOWN_FOR}. The service is down or unreachable, and its SLO "
                             "alerts are blind (and inhibited) until it is back."),
             "runbook_url": catalog.links.runbook_url(down), **({"dashboard_url": red} if red else {})}},
        {"alert": absent,
         "expr": f"max(up{{{sel}}}) == 1\nunless on()\ncount({REQUESTS}_count{{{sel}}}) > 0",
         "for": METRICS_ABSENT_FOR, "labels": {"severity": "ticket", **base},
         "annotations": {
             "summary": f"{service.name} is up but exports no request metrics",
             "description": (f"{service.name} has been scraped successfully for {METRICS_ABSENT_FOR} but "
                             f"exposes no {REQUESTS} series, so its SLOs cannot be measured and their "
                             "alerts cannot fire. The SDK is missing, misconfigured, or the service has "
                             "served no request since it started."),
             "runbook_url": catalog.links.runbook_url(absent), **({"dashboard_url": red} if red else {})}},
    ]}


def service_groups(catalog: Catalog, service: Service) -> list[dict]:
    return [symptom_group(catalog, service), *(slo_group(catalog, service, slo) for slo in service.slos)]


def alert_names(catalog: Catalog) -> list[str]:
    """Every alert the catalog generates, in catalog order."""
    names: list[str] = []
    for service in catalog.services:
        names += [service.target_down_alert, service.metrics_absent_alert]
        names += [service.slo_alert(slo) for slo in service.slos]
    return names
