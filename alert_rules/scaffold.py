"""First drafts of missing runbooks, so a large catalog starts with a useful page for every alert.

Each draft follows runbooks/TEMPLATE.md and is filled from the catalog: the alert's meaning, the
dashboards by UID, the PromQL for that service and SLO, and the rollback commands. Existing runbooks
are never touched; drafts say at the top that a person should finish them.
"""

from __future__ import annotations

from pathlib import Path

from bongsu import conventions
from bongsu.catalog import BUDGET_REMAINING_RECORD, SLO, Catalog, Service, error_ratio_record

from alert_rules.rules import REQUESTS, sli_words

DRAFT_NOTE = "<!-- Draft written by `bongsu runbooks scaffold`: check it, add what you know, delete this line. -->"


def _rollback(service: Service) -> str:
    return (f"1. If a deploy preceded it, roll back:\n"
            f"   ```sh\n   kubectl rollout undo deployment/{service.name}\n"
            f"   kubectl rollout status deployment/{service.name} --timeout=5m\n   ```\n")


def slo_runbook(catalog: Catalog, service: Service, slo: SLO) -> str:
    alert = service.slo_alert(slo)
    sel = service.promql_selector
    budget = f"{slo.error_budget:.10g}"
    tiers = "\n".join(f"| {t.severity} | {t.long} / {t.short} | {t.factor():g}x | "
                      f"{t.budget_consumed(slo.window):.0%} in {t.long} |" for t in slo.burn_rate_tiers)
    if slo.sli == "http_availability":
        what = f"{service.name} is answering 5xx fast enough to burn its {slo.window.human()} error budget"
        where = (f"sum by (http_route, http_response_status_code) (\n"
                 f"  rate({REQUESTS}_count{{{sel},{conventions.SERVER_ERROR_MATCHER}}}[5m]))")
    else:
        what = (f"{service.name} is serving too many requests slower than {slo.threshold}, fast enough to burn "
                f"its {slo.window.human()} error budget")
        where = f"histogram_quantile(0.99, sum by (le, http_route) (rate({REQUESTS}_bucket{{{sel}}}[5m])))"
    return f"""# {alert}

{DRAFT_NOTE}
{what} ({sli_words(slo)}).
Check the `long_window` label for the tier, open `{service.slo_dashboard_uid}`, and roll back a recent deploy of {service.name}.

## Meaning
The {slo.name} SLO of `{service.name}` ({slo.description or sli_words(slo)}) is burning its error budget
of {slo.error_budget:.4g} too fast over both windows of a burn-rate tier. Each tier is its own alert
instance, labelled `long_window` and `short_window`:

| severity | long / short window | fires above | budget spent before it fires |
| --- | --- | --- | --- |
{tiers}

It stays silent while {service.name} serves fewer than {slo.min_request_rate:g} requests per second over
the tier's long window, and resolves once the short window is below the threshold again.

## Impact
Callers of {service.name} see failed or slow requests for as long as this lasts; at this rate the
{slo.window.human()} budget runs out early and no room is left for deploys or experiments. Owner: team
{service.team} ({catalog.channel_for_team(service.team)}).

## Diagnosis
1. Dashboards: `{service.slo_dashboard_uid}` ({catalog.links.dashboard_url(service.slo_dashboard_uid)}) for
   the burn per window, `{service.red_dashboard_uid}` ({catalog.links.dashboard_url(service.red_dashboard_uid)})
   for rate, errors and duration per route.
2. Burn rate now and over the hour:
   ```promql
   {error_ratio_record(slo.burn_rate_tiers[0].short)}{{service="{service.name}",slo="{slo.name}"}} / {budget}
   {error_ratio_record(slo.burn_rate_tiers[0].long)}{{service="{service.name}",slo="{slo.name}"}} / {budget}
   ```
3. Where it comes from:
   ```promql
   {where}
   ```
4. Did it start with a deploy or restart? `changes(process_start_time_seconds{{{sel}}}[1h])` and
   `kubectl rollout history deployment/{service.name}`.
5. Logs and traces of failing requests: search the service's logs for the trace ids of 5xx answers.

## Mitigation
{_rollback(service)}   Confirm with the query in step 3 returning to normal.
2. If one replica is bad, delete its pod; if all are saturated, scale out:
   `kubectl scale deployment/{service.name} --replicas=<more>`.
3. If a dependency is the cause, follow that service's runbook and tell team {service.team}.
"""


def symptom_runbook(catalog: Catalog, service: Service, alert: str) -> str:
    sel = service.promql_selector
    down = alert == service.target_down_alert
    what = (f"Prometheus cannot scrape any {service.name} target: it is down or unreachable, and its SLO "
            "alerts are blind." if down else
            f"{service.name} is up but exports no request metrics, so its SLOs are not measured.")
    meaning = (f"`max(up{{{sel}}}) == 0` for 1 minute: every scrape of {service.name} failed. While it fires, "
               f"Alertmanager inhibits {service.name}'s SLO alerts." if down else
               f"For 15 minutes `up{{{sel}}}` was 1 but no `{REQUESTS}` series existed: the SDK is not "
               "initialised, the app is not wrapped by its middleware, or no request was served since start.")
    return f"""# {alert}

{DRAFT_NOTE}
{what}
Open `{service.red_dashboard_uid}` and check the pods of {service.name}.

## Meaning
{meaning} It resolves at the first scrape that shows the expected series again.

## Impact
{"Every caller of " + service.name + " fails if the process is down" if down else "No user impact by itself"};
either way the {service.name} SLO alerts cannot fire until this is fixed. Owner: team {service.team}
({catalog.channel_for_team(service.team)}).

## Diagnosis
1. Dashboard `{service.red_dashboard_uid}` ({catalog.links.dashboard_url(service.red_dashboard_uid)}).
2. Prometheus `/targets` shows the last scrape error; or run:
   ```promql
   up{{{sel}}}
   count({REQUESTS}_count{{{sel}}})
   changes(process_start_time_seconds{{{sel}}}[30m])
   ```
3. `kubectl get pods -l app.kubernetes.io/name={service.name}`, `kubectl describe pod <pod>`,
   `kubectl logs <pod> --previous`; `curl http://<{service.name}>/metrics | head`.

## Mitigation
{_rollback(service)}   Confirm `up{{{sel}}}` is 1 and the request series are back.
2. If only scraping fails, fix the Service's port name (`http`) or the network policy; no restart needed.
"""


def exhausted_runbook(catalog: Catalog, service: Service, slo: SLO) -> str:
    alert, burn = service.budget_exhausted_alert(slo), service.slo_alert(slo)
    labels = f'service="{service.name}",slo="{slo.name}"'
    window = slo.window.human()
    return f"""# {alert}

{DRAFT_NOTE}
{service.name} has spent the whole {window} error budget of its {slo.name} SLO: the SLO is broken for the window.
Not an outage page: a ticket for team {service.team} to stop spending budget and plan reliability work.

## Meaning
`{BUDGET_REMAINING_RECORD}{{{labels}}} <= 0`: the share of bad requests over the last {slo.window}
(`{error_ratio_record(slo.window)}`, from the counters) is at or above the error budget of
{slo.error_budget:.4g}. It resolves by itself once enough bad requests age out of the window. The
burn-rate alerts (`{burn}`) say how fast budget is being spent now; this one says it is gone.

## Impact
Users have had a worse {slo.name} than promised ({sli_words(slo)}) over the window. Every further error
deepens the breach; there is no room left for risky deploys or experiments on {service.name}. Owner:
team {service.team} ({catalog.channel_for_team(service.team)}).

## Diagnosis
1. Dashboard `{service.slo_dashboard_uid}` ({catalog.links.dashboard_url(service.slo_dashboard_uid)}): the
   "error budget remaining" panel shows when it ran out.
2. Remaining budget and the window's error ratio:
   ```promql
   {BUDGET_REMAINING_RECORD}{{{labels}}}
   {error_ratio_record(slo.window)}{{{labels}}}
   ```
3. Which incidents spent it: the `{burn}` alerts of the window and their post-mortems.

## Mitigation
1. Freeze risky changes to {service.name} (feature deploys, experiments) until the budget recovers; keep fixes.
2. Put the top causes from the diagnosis on team {service.team}'s plan.
3. If the objective is wrong rather than the service, change it in the catalog with the owners' agreement.
"""


def drafts(catalog: Catalog) -> dict[str, str]:
    """Alert name -> draft runbook, for every generated alert."""
    found: dict[str, str] = {}
    for service in catalog.services:
        for alert in (service.target_down_alert, service.metrics_absent_alert):
            found[alert] = symptom_runbook(catalog, service, alert)
        for slo in service.slos:
            found[service.slo_alert(slo)] = slo_runbook(catalog, service, slo)
            found[service.budget_exhausted_alert(slo)] = exhausted_runbook(catalog, service, slo)
    return found


def scaffold(catalog: Catalog, folder: Path) -> list[Path]:
    """Write a draft for every alert without a runbook in `folder`; return what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for alert, text in drafts(catalog).items():
        path = folder / f"{alert}.md"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
