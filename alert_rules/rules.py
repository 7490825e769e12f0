"""Prometheus rule groups from the catalog: SLO burn-rate rules and per-service symptom alerts.

Plain dicts in Prometheus' rule-file shape, so the same data feeds `DIR/prometheus/rules/`, the
PrometheusRule objects and the generated unit tests.
"""

from __future__ import annotations

from bongsu import conventions
from bongsu.catalog import (
    BUDGET_REMAINING_RECORD,
    SLO,
    BurnRateTier,
    Catalog,
    Service,
    error_ratio_record,
    request_rate_record,
)

# The SDK's request histogram (docs/contracts.md); both SLIs read it.
REQUESTS = conventions.HTTP_REQUEST_DURATION
# How a burn rate is shown in descriptions. Generated unit tests format expected values the same way.
BURN_FORMAT = "%.2f"
BURN_TEMPLATE = f'{{{{ $value | printf "{BURN_FORMAT}" }}}}'
TARGET_DOWN_FOR = "1m"
TARGET_ABSENT_FOR = "5m"
METRICS_ABSENT_FOR = "15m"


def le_matcher(seconds: float) -> str:
    """A regex for the `le` label of one bucket, whichever client wrote it ("1" in Go, "1.0" in Python)."""
    spellings = {f"{seconds:g}", repr(float(seconds))}
    return "|".join(sorted(s.replace(".", "\\\\.") for s in spellings))


def sli_error_ratio(service: Service, slo: SLO, window: str) -> str:
    """Share of bad requests over `window`: 5xx for availability, slower than the threshold for latency."""
    sel = service.promql_selector + slo.route_matcher()
    total = f"sum(rate({REQUESTS}_count{{{sel}}}[{window}]))"
    if slo.sli == "http_availability":
        errors = f"sum(rate({REQUESTS}_count{{{sel},{conventions.SERVER_ERROR_MATCHER}}}[{window}]))"
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


# How the remaining budget is shown (a share of the budget, 1.000 untouched, below 0 overspent).
REMAINING_FORMAT = "%.3f"


def remaining_template(service: Service, slo: SLO) -> str:
    """The remaining budget, looked up when the alert's description is rendered, so the Slack message
    (which shows the description) quotes it with no change to the notifier."""
    series = _series(BUDGET_REMAINING_RECORD, slo_labels(service, slo)).replace('"', '\\"')
    return (f'{{{{ with query "{series}" }}}}{{{{ . | first | value | printf "{REMAINING_FORMAT}" }}}}'
            f"{{{{ else }}}}unknown{{{{ end }}}}")


def remaining_words(slo: SLO, remaining: str) -> str:
    """The description's last sentence: the Slack message shows the description, so it quotes this."""
    return f"Error budget left over the last {slo.window}: {remaining} (1 = untouched, 0 = spent)."


def tier_annotations(catalog: Catalog, service: Service, slo: SLO, tier: BurnRateTier,
                     burn: str = BURN_TEMPLATE, remaining: str | None = None) -> dict[str, str]:
    """`burn` and `remaining` are the templates Prometheus fills in; generated tests pass the values."""
    factor = tier.factor()
    window = slo.window.human()
    annotations = {
        "summary": f"{service.name} is burning its {slo.name} error budget too fast "
                   f"({tier.long}/{tier.short} windows, {tier.severity})",
        "description": (
            f"{service.name} is burning the {window} error budget of its {slo.name} SLO "
            f"({sli_words(slo)}) {burn}x faster than sustainable "
            f"over the last {tier.long}, and still above the threshold over the last {tier.short}. "
            f"This {tier.severity} fires above {factor:g}x, which spends "
            f"{tier.budget_consumed(slo.window):.0%} of the budget within {tier.long}. "
            + remaining_words(slo, remaining or remaining_template(service, slo))),
        "runbook_url": catalog.links.runbook_url(service.slo_alert(slo)),
        "dashboard_url": catalog.links.dashboard_url(service.slo_dashboard_uid),
    }
    return {key: value for key, value in annotations.items() if value is not None}  # no Grafana: no link


def budget_records(service: Service, slo: SLO) -> list[dict]:
    """The error ratio over the whole SLO window, and the share of the budget it leaves.

    The window's ratio is taken from the counters (as Pyrra does), so it weighs every request alike.
    """
    labels = slo_labels(service, slo)
    records = []
    if slo.window not in slo.recording_windows:
        records.append({"record": error_ratio_record(slo.window),
                        "expr": sli_error_ratio(service, slo, str(slo.window)), "labels": dict(labels)})
    budget = f"{slo.error_budget:.10g}"
    records.append({"record": BUDGET_REMAINING_RECORD,
                    "expr": f"1 - {_series(error_ratio_record(slo.window), labels)} / {budget}",
                    "labels": dict(labels)})
    return records


def exhausted_annotations(catalog: Catalog, service: Service, slo: SLO,
                          remaining: str = f'{{{{ $value | printf "{REMAINING_FORMAT}" }}}}') -> dict[str, str]:
    alert = service.budget_exhausted_alert(slo)
    annotations = {
        "summary": f"{service.name} has spent the {slo.window.human()} error budget of its {slo.name} SLO",
        "description": (f"{service.name} has broken its {slo.name} SLO ({sli_words(slo)}) over the last "
                        f"{slo.window}: {remaining} of the error budget is left. Until enough bad requests "
                        "age out of the window, every further error breaks it more: freeze risky changes and "
                        "spend the time on reliability."),
        "runbook_url": catalog.links.runbook_url(alert),
        "dashboard_url": catalog.links.dashboard_url(service.slo_dashboard_uid),
    }
    return {key: value for key, value in annotations.items() if value is not None}  # no Grafana: no link


def exhausted_rule(catalog: Catalog, service: Service, slo: SLO) -> dict:
    return {"alert": service.budget_exhausted_alert(slo),
            "expr": f"{_series(BUDGET_REMAINING_RECORD, slo_labels(service, slo))} <= 0",
            "labels": {"severity": "ticket", "team": service.team, **slo_labels(service, slo)},
            "annotations": exhausted_annotations(catalog, service, slo)}


def tier_expr(service: Service, slo: SLO, tier: BurnRateTier) -> str:
    """Both windows above the tier's burn rate, and enough traffic in the long window to judge.

    The alert's value is the long window's burn rate, which the description shows.
    """
    labels = slo_labels(service, slo)
    budget = f"{slo.error_budget:.10g}"
    factor = f"{tier.factor():g}"
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
    for window in slo.recording_windows:
        rules.append({"record": error_ratio_record(window),
                      "expr": sli_error_ratio(service, slo, str(window)), "labels": dict(labels)})
    for window in slo.recording_windows:
        rules.append({"record": request_rate_record(window),
                      "expr": f"sum(rate({REQUESTS}_count{{{service.promql_selector}{slo.route_matcher()}}}"
                              f"[{window}]))",
                      "labels": dict(labels)})
    rules += budget_records(service, slo)
    for tier in slo.burn_rate_tiers:
        rules.append({"alert": service.slo_alert(slo), "expr": tier_expr(service, slo, tier),
                      "labels": tier_labels(service, slo, tier),
                      "annotations": tier_annotations(catalog, service, slo, tier)})
    rules.append(exhausted_rule(catalog, service, slo))
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
        {"alert": down, "expr": f"absent(up{{{sel}}})", "for": TARGET_ABSENT_FOR,
         "labels": {"severity": "page", **base, "cause": "no_target"},
         "annotations": {
             "summary": f"{service.name} has no scrape target: Prometheus does not discover it",
             "description": (f"No `up` series matches {sel} for at least {TARGET_ABSENT_FOR}: Prometheus "
                             f"has no {service.name} target at all (deleted, renamed, or its service "
                             "discovery or selector changed), so nothing of it is measured and its SLO "
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
        *(bucket_absent_rule(catalog, service, slo) for slo in service.slos if slo.threshold is not None),
    ]}


def bucket_absent_rule(catalog: Catalog, service: Service, slo: SLO) -> dict:
    """The latency SLO's threshold bucket missing while requests are counted: its SLI would be empty and
    its alerts silent however slow the service gets. Filed under `<Service>MetricsAbsent`, with `slo`."""
    assert slo.threshold is not None
    sel = service.promql_selector
    bucket = f'{REQUESTS}_bucket{{{sel},le=~"{le_matcher(slo.threshold.seconds)}"}}'
    alert = service.metrics_absent_alert
    return {
        "alert": alert,
        "expr": f"count({REQUESTS}_count{{{sel}}}) > 0\nunless on()\ncount({bucket}) > 0",
        "for": METRICS_ABSENT_FOR,
        "labels": {"severity": "ticket", "team": service.team, "service": service.name, "slo": slo.name},
        "annotations": {
            "summary": f"{service.name} exports no {slo.threshold} bucket: its {slo.name} SLO is blind",
            "description": (f"{service.name} exports {REQUESTS} but no bucket at le={slo.threshold} "
                            f"(its {slo.name} SLO's threshold) for {METRICS_ABSENT_FOR}, so the SLO cannot "
                            "be measured and its burn-rate alerts cannot fire however slow it gets. Give the "
                            "SDK the bucket (`init(extra_buckets=...)`) or pick an exported threshold."),
            "runbook_url": catalog.links.runbook_url(alert),
            **({"dashboard_url": dashboard} if (dashboard := catalog.links.dashboard_url(
                service.slo_dashboard_uid)) else {})},
    }


def service_groups(catalog: Catalog, service: Service) -> list[dict]:
    return [symptom_group(catalog, service), *(slo_group(catalog, service, slo) for slo in service.slos)]


def alert_names(catalog: Catalog) -> list[str]:
    """Every alert the catalog generates, in catalog order."""
    names: list[str] = []
    for service in catalog.services:
        names += [service.target_down_alert, service.metrics_absent_alert]
        names += [alert for slo in service.slos
                  for alert in (service.slo_alert(slo), service.budget_exhausted_alert(slo))]
    return names
