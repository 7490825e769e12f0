"""Chaos Toolkit experiments for every page alert of a catalog, plus a target-down drill per service.

Generated from the catalog model (alert names, receivers, channels, tiers all come from it), so a
new SLO gets its drill without anyone writing JSON. `chaos/experiments/*.json` holds the demo
catalog's output for `chaos run`; the tests keep it equal to what this module generates.

Each experiment: steady state (traffic scraped, the SLO burning under the page threshold, the alert
quiet), inject a fault that expires by itself, wait for the alert to fire, be routed to the team's
receiver and be delivered to the team's channel, clear the fault, wait for it to resolve and for
the resolution to be delivered. The fault is also cleared in `rollbacks` (strategy always), and a
safeguard aborts the drill when another service's burn rate passes a limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bongsu import conventions
from bongsu.catalog import SLO, TIERS, Catalog, Service

EXPERIMENTS_DIR = Path(__file__).resolve().parent / "experiments"
SAFEGUARD_ENV = conventions.SAFEGUARD_BURN_LIMIT
# Above the demo's worst collateral burn (orders failing 70% of requests when payments is down, at
# 99.5%: 140x), below an untouched service losing all its traffic at 99.9% (1000x).
DEFAULT_SAFEGUARD_BURN = 250


@dataclass(frozen=True)
class Timeouts:
    """How long each waiting step may take before the drill calls it a miss (seconds)."""

    detect_s: float = 300
    notify_s: float = 120
    resolve_s: float = 600

    @property
    def fault_s(self) -> int:
        """How long the fault lives if nobody clears it: past every step that needs it."""
        return int(self.detect_s + 2 * self.notify_s + 60)


def burn_timeouts(slo: SLO, bad_share: float) -> Timeouts:
    """Timeouts from the tier's arithmetic at steady traffic: the long window must hold
    `factor x budget` bad requests, e.g. 0.0144 x 1h = 52 s for 99.9% but 0.144 x 1h = 8.6 min for
    99%. Doubled (history busier than live traffic slows it down, see chaos.floors) plus 2 minutes."""
    tier = page_tier()
    needed = tier.factor(slo.window) * slo.error_budget * tier.long.seconds / bad_share
    return Timeouts(detect_s=max(300, round(2 * needed + 120)))


def page_tier():
    return next(tier for tier in TIERS if tier.severity == "page")


def _probe(name: str, module: str, func: str, arguments: dict, tolerance=None) -> dict:
    probe = {"type": "probe", "name": name,
             "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}
    if tolerance is not None:
        probe["tolerance"] = tolerance
    return probe


def _action(name: str, func: str, arguments: dict) -> dict:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": "chaos.actions", "func": func, "arguments": arguments}}


def _alert_steps(alertname: str, labels: dict, receiver: str, channel: str, timeouts: Timeouts,
                 clear: dict) -> list[dict]:
    selector = {"alertname": alertname, "labels": labels}
    return [
        _probe(f"{alertname} fires", "chaos.probes", "alert_reaches_state",
               {**selector, "state": "firing", "timeout_s": timeouts.detect_s}),
        _probe(f"Alertmanager routes it to {receiver}", "chaos.probes", "alert_routed",
               {**selector, "receiver": receiver, "timeout_s": timeouts.notify_s}),
        _probe(f"the notifier delivers it to {channel}", "chaos.probes", "alert_delivered",
               {**selector, "channel": channel, "status": "firing", "timeout_s": timeouts.notify_s}),
        clear,
        _probe(f"{alertname} resolves", "chaos.probes", "alert_reaches_state",
               {**selector, "state": "resolved", "timeout_s": timeouts.resolve_s}),
        _probe(f"the notifier delivers the resolution to {channel}", "chaos.probes", "alert_delivered",
               {**selector, "channel": channel, "status": "resolved", "timeout_s": timeouts.notify_s}),
    ]


def _safeguards(catalog: Catalog, drilled: Service) -> list[dict]:
    """Abort when a service the drill does not target burns its budget faster than the limit."""
    probes = [
        {**_probe(f"{service.name}/{slo.name} real traffic under the safeguard limit", "chaos.probes",
                  "burn_rate_below", {"service": service.name, "slo": slo.name, "window": "5m",
                                      "limit": "${safeguard_burn_limit}"}, True),
         "frequency": 5}
        for service in catalog.services if service.name != drilled.name for slo in service.slos
    ]
    if not probes:
        return []
    return [{"name": "safeguard: real traffic burn rate",
             "provider": {"type": "python", "module": "chaosaddons.controls.safeguards",
                          "arguments": {"probes": probes}}}]


def _common(catalog: Catalog, service: Service, title: str, description: str, drill: dict) -> dict:
    return {
        "version": "1.0.0",
        "title": title,
        "description": description,
        "tags": ["bongsu", "drill", service.name],
        "configuration": {
            # Empty by default so `chaos validate` needs no environment; an activity that runs without
            # it fails saying what to set and why (chaos/stackfile.py).
            "bongsu_stack": {"type": "env", "key": conventions.STACK, "default": ""},
            "safeguard_burn_limit": {"type": "env", "key": SAFEGUARD_ENV, "default": DEFAULT_SAFEGUARD_BURN},
        },
        "extensions": [{"name": "bongsu", "drill": drill}],
        "controls": [
            {"name": "bongsu drill", "provider": {"type": "python", "module": "chaos.control"}},
            *_safeguards(catalog, service),
        ],
        "runtime": {"rollbacks": {"strategy": "always"}},
    }


def _scraped(service: Service) -> dict:
    return _probe(f"{service.name} is scraped", "chaos.probes", "query_compare",
                  {"query": f"min(up{{{service.promql_selector}}})", "comparison": "==", "threshold": 1,
                   "timeout_s": 120}, True)


def _quiet(alertname: str, labels: dict) -> dict:
    return _probe(f"{alertname} is not firing", "chaos.probes", "alert_quiet",
                  {"alertname": alertname, "labels": labels, "timeout_s": 420}, True)


def slo_drill_name(service: Service, slo: SLO) -> str:
    return f"{service.name}-{slo.name}"


def slo_experiment(catalog: Catalog, service: Service, slo: SLO, timeouts: Timeouts | None = None) -> dict:
    tier = page_tier()
    alertname = service.slo_alert(slo)
    labels = {"service": service.name, "slo": slo.name, "severity": tier.severity,
              "long_window": str(tier.long), "short_window": str(tier.short)}
    factor = tier.factor(slo.window)
    if slo.sli == "http_availability":
        fault = {"error_rate": 1.0, "latency_ms": 0}
        what = "answers every request with 500"
        bad_share = 1.0
    else:
        assert slo.threshold is not None
        latency = int(slo.threshold.ms * 2 + 100)
        fault = {"error_rate": 0.0, "latency_ms": latency}
        what = f"adds {latency} ms to every request (threshold {slo.threshold})"
        bad_share = 1.0
    timeouts = timeouts or burn_timeouts(slo, bad_share)
    team = catalog.team(service.team)
    receiver = team.receiver if team else "default"
    channel = catalog.channel_for_team(service.team)
    drill = {"name": slo_drill_name(service, slo), "kind": "burn", "service": service.name, "slo": slo.name,
             "selector": service.promql_selector,
             "alertname": alertname, "labels": labels, "receiver": receiver, "channel": channel,
             "fault": fault, "bad_share": bad_share,
             "windows_s": [tier.long.seconds, tier.short.seconds],
             "threshold": round(factor * slo.error_budget, 8), "factor": factor}
    experiment = _common(
        catalog, service,
        f"{alertname} ({tier.windows} page) fires, reaches {channel} and resolves when {service.name} {what}",
        f"Drill for the {service.name} {slo.name} SLO ({slo.objective}% over {slo.window}): a fault that "
        f"{what} must page {team.name if team else 'the default receiver'} through {receiver} in {channel}, "
        f"and the alert must resolve once the fault is cleared and the {tier.short} window drains.",
        drill)
    experiment["steady-state-hypothesis"] = {
        "title": f"{service.name} is scraped, its {slo.name} SLO burns under {factor}x and {alertname} is quiet",
        "probes": [
            _scraped(service),
            _probe(f"{service.name}/{slo.name} burns under the page threshold", "chaos.probes", "burn_rate_below",
                   {"service": service.name, "slo": slo.name, "window": str(tier.short), "limit": factor,
                    "timeout_s": 420}, True),
            _quiet(alertname, labels),
        ],
    }
    clear = _action(f"clear the fault in {service.name}", "clear_fault", {"service": service.name})
    experiment["method"] = [
        _action(f"inject the fault into {service.name}", "inject_fault",
                {"service": service.name, **fault, "duration_s": timeouts.fault_s}),
        *_alert_steps(alertname, labels, receiver, channel, timeouts, clear),
    ]
    experiment["rollbacks"] = [clear]
    return experiment


def target_down_drill_name(service: Service) -> str:
    return f"{service.name}-target-down"


def target_down_experiment(catalog: Catalog, service: Service,
                           timeouts: Timeouts = Timeouts(detect_s=300, resolve_s=180)) -> dict:
    alertname = service.target_down_alert
    labels = {"service": service.name, "severity": "page"}
    team = catalog.team(service.team)
    receiver = team.receiver if team else "default"
    channel = catalog.channel_for_team(service.team)
    drill = {"name": target_down_drill_name(service), "kind": "outage", "service": service.name,
             "alertname": alertname, "labels": labels, "receiver": receiver, "channel": channel,
             "fault": {"unreachable_target": service.name}}
    experiment = _common(
        catalog, service,
        f"{alertname} fires, reaches {channel} and resolves when Prometheus cannot scrape {service.name}",
        f"Drill for the {service.name} scrape target: Prometheus' job is pointed at a closed port, so the "
        f"target is down while the service runs; {alertname} must page through {receiver} in {channel} "
        "and resolve once the original configuration is back.",
        drill)
    experiment["steady-state-hypothesis"] = {
        "title": f"{service.name} is scraped and {alertname} is quiet",
        "probes": [_scraped(service), _quiet(alertname, labels)],
    }
    restore = _action(f"restore the {service.name} scrape target", "restore_target", {"service": service.name})
    experiment["method"] = [
        _action(f"make the {service.name} scrape target unreachable", "make_target_unreachable",
                {"service": service.name, "duration_s": timeouts.fault_s}),
        *_alert_steps(alertname, labels, receiver, channel, timeouts, restore),
    ]
    experiment["rollbacks"] = [restore]
    return experiment


def bad_deploy_drill_name(service: Service) -> str:
    return f"{service.name}-bad-deploy"


def _recovery(name: str, func: str, arguments: dict, kind: str = "probe") -> dict:
    step = {"type": kind, "name": name,
            "provider": {"type": "python", "module": "chaos.recovery", "func": func, "arguments": arguments}}
    return step


def bad_deploy_experiment(catalog: Catalog, service: Service) -> dict | None:
    """Ship the demo shop's bad build of `service`, expect the availability page to carry the bug's
    exception, code line, build, commit and deploy note, press Roll back as a responder, expect the
    good build back and the alert resolved. None when the service has no bad build, no rollback, no
    availability SLO or no responder to press the button."""
    from examples.shop import releases

    builds = releases.BUILDS.get(service.name, {})
    bad = next((v for v in builds if releases.known_bug(service.name, v)), None)
    good = releases.CURRENT.get(service.name)
    slo = next((s for s in service.slos if s.sli == "http_availability"), None)
    team = catalog.team(service.team)
    responders = list(getattr(getattr(team, "responders", None), "users", []) or [])
    if bad is None or good is None or slo is None or service.rollback is None or not responders:
        return None
    bug = releases.known_bug(service.name, bad)
    assert bug is not None
    tier = page_tier()
    alertname = service.slo_alert(slo)
    labels = {"service": service.name, "slo": slo.name, "severity": tier.severity,
              "long_window": str(tier.long), "short_window": str(tier.short)}
    bad_share = 1 / 3  # one card network in three hits the bug (examples/shop/fees_1_5_0.py)
    timeouts = burn_timeouts(slo, bad_share)
    receiver = team.receiver if team else "default"
    channel = catalog.channel_for_team(service.team)
    location = f"{Path(bug.file).name}:{bug.line}"
    drill = {"name": bad_deploy_drill_name(service), "kind": "burn", "service": service.name, "slo": slo.name,
             "selector": service.promql_selector, "alertname": alertname, "labels": labels, "receiver": receiver,
             "channel": channel, "fault": {"deploy": bad, "rollback_to": good}, "bad_share": bad_share,
             "windows_s": [tier.long.seconds, tier.short.seconds],
             "threshold": round(tier.factor(slo.window) * slo.error_budget, 8), "factor": tier.factor(slo.window)}
    experiment = _common(
        catalog, service,
        f"Deploying {service.name} {bad} pages {channel} with the bug's evidence, and Roll back recovers",
        f"Bad-deploy drill: {service.name} {bad} raises {bug.exception_type} at {bug.file}:{bug.line} for some "
        f"requests. {alertname} must page {channel} with that exception, its file:line, build {bad} with its commit "
        f"and the deploy note; a responder presses Roll back to {good} (a signed Slack interaction), {good} must "
        "run again and the alert resolve.", drill)
    experiment["tags"].append("recovery")
    experiment["steady-state-hypothesis"] = {
        "title": f"{service.name} runs {good}, is scraped, burns under the page threshold and {alertname} is quiet",
        "probes": [
            {**_recovery(f"{service.name} runs {good}", "service_on_build",
                         {"service": service.name, "version": good, "timeout_s": 120}), "tolerance": True},
            _scraped(service),
            _probe(f"{service.name}/{slo.name} burns under the page threshold", "chaos.probes", "burn_rate_below",
                   {"service": service.name, "slo": slo.name, "window": str(tier.short),
                    "limit": tier.factor(slo.window), "timeout_s": 420}, True),
            _quiet(alertname, labels),
        ],
    }
    selector = {"alertname": alertname, "labels": labels}
    experiment["method"] = [
        _recovery(f"deploy {service.name} {bad}", "deploy_build",
                  {"service": service.name, "version": bad, "bad": True}, "action"),
        *_alert_steps(alertname, labels, receiver, channel, timeouts, {})[:3],
        _recovery(f"the page shows {bug.exception_type} at {location}, build {bad} with its commit and the deploy note",
                  "page_shows", {**selector, "contains": [bug.exception_type, location],
                                 "build": {"service": service.name, "version": bad}, "timeout_s": 180}),
        _recovery(f"a responder presses Roll back to {good}", "press_button",
                  {**selector, "action_id": "rollback", "user_id": responders[0]}, "action"),
        _recovery(f"{service.name} runs {good} again", "service_runs_build",
                  {"service": service.name, "version": good, "timeout_s": 180}),
        _probe(f"{alertname} resolves", "chaos.probes", "alert_reaches_state",
               {**selector, "state": "resolved", "timeout_s": timeouts.resolve_s}),
        _probe(f"the notifier delivers the resolution to {channel}", "chaos.probes", "alert_delivered",
               {**selector, "channel": channel, "status": "resolved", "timeout_s": timeouts.notify_s}),
    ]
    experiment["rollbacks"] = [_recovery(f"deploy {service.name} {good} (safety net)", "deploy_build",
                                         {"service": service.name, "version": good}, "action")]
    return experiment


def experiments(catalog: Catalog) -> dict[str, dict]:
    """Every drill of the catalog by name: each page SLO alert, each service's target-down, then
    each bad-deploy drill the demo shop's builds allow."""
    found: dict[str, dict] = {}
    for service in catalog.services:
        for slo in service.slos:
            found[slo_drill_name(service, slo)] = slo_experiment(catalog, service, slo)
    for service in catalog.services:
        found[target_down_drill_name(service)] = target_down_experiment(catalog, service)
    for service in catalog.services:
        experiment = bad_deploy_experiment(catalog, service)
        if experiment is not None:
            found[bad_deploy_drill_name(service)] = experiment
    return found


def render(experiment: dict) -> str:
    return json.dumps(experiment, indent=2) + "\n"


def write(catalog: Catalog, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, experiment in experiments(catalog).items():
        path = folder / f"{name}.json"
        path.write_text(render(experiment))
        written.append(path)
    return written
