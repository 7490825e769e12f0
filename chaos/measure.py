"""Time-to-detect, time-to-notify and time-to-resolve of one drill, next to their configuration floors.

Read from the journal (what the drill's own activities returned) and from the live Prometheus and
Alertmanager (scrape and evaluation intervals, the rule's `for`, the route's `group_wait`, the SLO
windows' contents when the fault started). The result goes into the journal under `bongsu`.
"""

from __future__ import annotations

import time

from bongsu import conventions
from bongsu.catalog import Duration, error_ratio_record, request_rate_record
from chaos import alertmanager, prometheus
from chaos.floors import BurnWindows, Floors, Timing, bound, burn_floors, outage_floors
from chaos.stackfile import StackFile

REQUESTS = conventions.HTTP_REQUEST_DURATION
INJECT = {"inject_fault", "stop_service", "make_target_unreachable"}
CLEAR = {"clear_fault", "start_service", "restore_target", "press_button"}
LATE_FACTOR = 1.25
LATE_MARGIN_S = 30.0


def drill_spec(experiment: dict) -> dict | None:
    for extension in experiment.get("extensions") or []:
        if extension.get("name") == "bongsu":
            return extension.get("drill")
    return None


def _outputs(journal: dict) -> list[tuple[str, dict, dict]]:
    """(function, arguments, output) of each method activity that succeeded, in order."""
    found = []
    for run in journal.get("run", []):
        provider = run.get("activity", {}).get("provider", {})
        if run.get("status") == "succeeded" and isinstance(run.get("output"), dict):
            found.append((provider.get("func", ""), provider.get("arguments", {}), run["output"]))
    return found


def moments(journal: dict) -> dict[str, float]:
    """When the fault was injected and cleared, and when each alert step was observed."""
    found: dict[str, float] = {}
    for func, arguments, output in _outputs(journal):
        if func in INJECT or (func == "deploy_build" and "injected_at" in output):
            found.setdefault("injected", output["injected_at"])
        elif func == "page_shows":
            found.setdefault("evidence", output["evidence_at"])
        elif func == "service_runs_build" and "cleared" in found:
            found.setdefault("recovered", output["recovered_at"])
        elif func in CLEAR:
            found.setdefault("cleared", output["cleared_at"])
        elif func == "alert_reaches_state" and arguments.get("state") == "firing":
            found.setdefault("firing", output["observed_at"])
        elif func == "alert_reaches_state" and arguments.get("state") == "resolved":
            found.setdefault("resolved", output["observed_at"])
        elif func == "alert_routed":
            found.setdefault("routed", output["observed_at"])
        elif func == "alert_delivered" and arguments.get("status") == "firing":
            found.setdefault("notified", output["delivered_at"])
        elif func == "alert_delivered" and arguments.get("status") == "resolved":
            found.setdefault("resolution_notified", output["delivered_at"])
    return found


def _timing(stack: StackFile, spec: dict) -> tuple[Timing, float]:
    """The live timing for the drilled alert, and its route's `group_interval`."""
    config = prometheus.config(stack.prometheus)
    scrape = _duration_s(config.get("global", {}).get("scrape_interval", "1m"))
    for job in config.get("scrape_configs", []):
        if job.get("job_name") == spec["service"] and job.get("scrape_interval"):
            scrape = _duration_s(job["scrape_interval"])
    evaluation = _duration_s(config.get("global", {}).get("evaluation_interval", "1m"))
    for_s = keep_s = 0.0
    for rule in prometheus.alerting_rules(stack.prometheus):
        if rule["name"] == spec["alertname"] and all(rule.get("labels", {}).get(k) == v
                                                     for k, v in spec["labels"].items() if k != "alertname"):
            for_s = float(rule.get("duration", 0))
            keep_s = float(rule.get("keepFiringFor", 0))
            evaluation = rule.get("group_interval_s") or evaluation
            break
    routes = alertmanager.routes_for(alertmanager.config(stack.alertmanager),
                                     {"alertname": spec["alertname"], "team": _team(spec), **spec["labels"]})
    group_wait = min((r.group_wait_s for r in routes), default=30.0)
    return Timing(scrape, evaluation, for_s, keep_s, group_wait), max((r.group_interval_s for r in routes),
                                                                          default=300.0)


def _team(spec: dict) -> str:
    return spec["labels"].get("team") or spec["receiver"].removeprefix("team-")


def _duration_s(text: str) -> float:
    return Duration.parse(text).seconds


def _burn_windows(stack: StackFile, spec: dict, at: dict[str, float]) -> BurnWindows:
    """The tier's windows as the recording rules saw them just before the fault, and the traffic the
    fault hit (the short window's request rate while it was on: a young stack has none before)."""
    selector = f'service="{spec["service"]}",slo="{spec["slo"]}"'

    def recorded(record: str, when: float) -> float:
        return prometheus.query_value(stack.prometheus, f"max({record}{{{selector}}})", at=when) or 0.0

    before = at["injected"] - 1
    windows = [Duration(int(w * 1000)) for w in spec["windows_s"]]
    baseline = tuple(recorded(error_ratio_record(w), before) for w in windows)
    window_rps = tuple(recorded(request_rate_record(w), before) for w in windows)
    # Not the recorded 5m rate: on a young stack rate() divides a short history by the whole window.
    until = at.get("firing") or at.get("cleared") or time.time()
    span = max(int(until - at["injected"]), 15)
    live = prometheus.query_value(
        stack.prometheus, f'sum(rate({REQUESTS}_count{{{spec["selector"]}}}[{span}s]))', at=until)
    return BurnWindows(tuple(spec["windows_s"]), spec["threshold"], baseline, window_rps, live or 1.0)


def _group_was_active(stack: StackFile, spec: dict, injected: float) -> bool:
    """Whether another rule of the same alert group was already firing: then the new alert waits for
    the group's next `group_interval` flush, not `group_wait`."""
    labels = {k: v for k, v in spec["labels"].items() if k in ("service", "slo")}
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted({"alertname": spec["alertname"], **labels}.items()))
    return bool(prometheus.query(stack.prometheus, f'ALERTS{{{matchers},alertstate="firing"}}', at=injected))


def extra_alerts(stack: StackFile, spec: dict, start: float, end: float) -> list[str]:
    """Alerts that began firing during the drill and are not the one it expects."""
    before = {_key(labels) for labels, _ in prometheus.query(stack.prometheus, 'ALERTS{alertstate="firing"}', at=start)}
    step = max(1.0, (end - start) / 1000)
    found = set()
    for labels, _ in prometheus.query_range(stack.prometheus, 'ALERTS{alertstate="firing"}', start, end, step):
        if labels.get("alertname") != spec["alertname"] and _key(labels) not in before:
            found.add(f'{labels.get("alertname")}{{service="{labels.get("service", "")}"}}')
    return sorted(found)


def _key(labels: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def _verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "missing"
    return "late" if value > limit else "ok"


def measure(journal: dict, spec: dict, stack: StackFile, factor: float = LATE_FACTOR,
            margin_s: float = LATE_MARGIN_S) -> dict:
    """The drill's three intervals, floors, bounds and verdicts, and any extra alerts."""
    at = moments(journal)
    intervals = {
        "detect_s": _between(at, "injected", "firing"),
        "notify_s": _between(at, "firing", "notified"),
        "resolve_s": _between(at, "cleared", "resolved"),
    }
    if "evidence" in at or "recovered" in at:  # the bad-deploy drill: evidence and recovery too
        intervals["evidence_s"] = _between(at, "firing", "evidence")
        intervals["recover_s"] = _between(at, "cleared", "recovered")
    result: dict = {"drill": spec["name"], "alertname": spec["alertname"], "moments": at,
                    "intervals": intervals}
    if "injected" not in at:
        result["verdict"] = "not run"
        return result
    timing, group_interval = _timing(stack, spec)
    if spec["kind"] == "burn":
        # A rolled-back deploy keeps failing until the good build runs: the fault ends then, not at the click.
        ended = at.get("recovered") or at.get("cleared", time.time())
        windows = _burn_windows(stack, spec, at)
        floors = burn_floors(timing, windows, spec["bad_share"], ended - at["injected"])
        if "recovered" in at and "cleared" in at:
            rollout = max(0.0, at["recovered"] - at["cleared"])
            floors = Floors(floors.detect_s, floors.notify_s, floors.resolve_s + rollout,
                            {**floors.parts, "rollback_rollout_s": rollout})
        floors.parts.update({f"baseline_ratio_{int(w)}s": b for w, b in zip(windows.windows_s, windows.baseline)})
        floors.parts.update({f"history_rps_{int(w)}s": r for w, r in zip(windows.windows_s, windows.window_rps)})
        floors.parts["live_rps"] = windows.live_rps
    else:
        floors = outage_floors(timing)
    if _group_was_active(stack, spec, at["injected"]):
        floors = Floors(floors.detect_s, 0.0, floors.resolve_s, {**floors.parts, "group_already_active": 1})
    bounds = {"detect_s": bound(floors.detect_s, factor, margin_s),
              "notify_s": bound(max(floors.notify_s, group_interval), factor, margin_s),
              "resolve_s": bound(floors.resolve_s, factor, margin_s)}
    verdicts = {name: _verdict(intervals[name], bounds[name]) for name in bounds}
    result.update(floors=floors.as_dict(), bounds=bounds, verdicts=verdicts,
                  extra_alerts=extra_alerts(stack, spec, at["injected"], at.get("resolved", time.time())))
    if intervals["detect_s"] is None:
        result["verdict"] = "missed"
    elif intervals["notify_s"] is None:
        result["verdict"] = "missed"  # the on-call never heard of it
    elif intervals["resolve_s"] is None:
        result["verdict"] = "unresolved"
    elif "late" in verdicts.values():
        result["verdict"] = "late"
    else:
        result["verdict"] = "detected"
    return result


def _between(at: dict[str, float], start: str, end: str) -> float | None:
    if start in at and end in at:
        return round(at[end] - at[start], 2)
    return None
