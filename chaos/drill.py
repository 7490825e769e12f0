"""Run drills through chaoslib and judge them: one experiment, or all of them with a coverage matrix.

A drill's verdict comes from the journal: `detected` (fired, routed, delivered and resolved, each
within its bound), `late` (all happened, something beyond its bound), `missed` (the alert never
fired or never reached the on-call), `unresolved`, or `not run` (the steady state did not hold, or a
safeguard stopped it before the fault). Alerts that fired but were not expected are listed as extra.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from chaosaddons.controls import safeguards
from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
from chaoslib.run import RunEventHandler
from rich.console import Console

from chaos import marks
from chaos.measure import drill_spec
from chaos.stackfile import STACK_ENV

SETTINGS = {"runtime": {"rollbacks": {"strategy": "always"}, "hypothesis": {"strategy": "default"}}}
PASSING = {"detected", "late"}


@dataclass
class DrillResult:
    name: str
    alertname: str
    verdict: str
    status: str  # the journal's: completed, failed, aborted, interrupted
    journal_path: Path
    measurement: dict = field(default_factory=dict)
    reason: str = ""
    stop_requested: bool = False  # interrupted by Ctrl-C or SIGTERM, not by a safeguard or a missed step

    @property
    def passed(self) -> bool:
        return self.verdict in PASSING

    @property
    def extra_alerts(self) -> list[str]:
        return self.measurement.get("extra_alerts", [])


class _Progress(RunEventHandler):
    """Prints each step as it starts and ends, so a 6-minute drill is not a silent terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def start_activity(self, activity: dict) -> None:
        self.console.print(f"  … {activity.get('name')}", highlight=False)

    def activity_completed(self, activity: dict, run: dict) -> None:
        ok = run.get("status") == "succeeded"
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        detail = "" if ok else f": {(run.get('exception') or [''])[-1].strip()[:300]}"
        self.console.print(f"  {mark} {activity.get('name')} ({run.get('duration', 0):.1f}s){detail}",
                           highlight=False)


def _reason(journal: dict) -> str:
    """The first thing that went wrong, in words."""
    if journal.get("steady_states", {}).get("before", {}) and \
            not journal["steady_states"]["before"].get("steady_state_met", True):
        failed = [p["activity"]["name"] for p in journal["steady_states"]["before"].get("probes", [])
                  if not p.get("tolerance_met", True)]
        return f"steady state did not hold before the fault: {', '.join(failed)}"
    for run in journal.get("run", []):
        if run.get("status") == "failed":
            return f"{run['activity']['name']}: {(run.get('exception') or [''])[-1].strip()[:400]}"
    if journal.get("deviated"):
        return "steady state did not come back after the drill"
    if journal.get("status") == "interrupted":
        return "interrupted (a safeguard or a signal stopped the drill)"
    return ""


def run_drill(experiment: dict, stack_file: Path, journal_dir: Path, console: Console | None = None) -> DrillResult:
    """Run one experiment against the stack described by `stack_file`; save its journal."""
    console = console or Console(stderr=True)
    spec = drill_spec(experiment) or {}
    name = spec.get("name") or experiment.get("title", "drill")
    previous = os.environ.get(STACK_ENV)
    os.environ[STACK_ENV] = str(stack_file)
    # chaostoolkit-addons keeps one Guardian per process and never resets it: after one safeguard
    # fired, later experiments in the same process would never be stopped by theirs. Start afresh.
    safeguards.guardian = safeguards.Guardian()
    try:
        ensure_experiment_is_valid(experiment)
        journal = run_experiment(experiment, settings=json.loads(json.dumps(SETTINGS)),
                                 experiment_vars=({"bongsu_stack": str(stack_file)}, {}),
                                 event_handlers=[_Progress(console)])
    finally:
        if previous is None:
            os.environ.pop(STACK_ENV, None)
        else:
            os.environ[STACK_ENV] = previous
    journal_dir.mkdir(parents=True, exist_ok=True)
    path = journal_dir / f"{name}.journal.json"
    path.write_text(json.dumps(journal, indent=2, default=str))
    measurement = journal.get("bongsu") or {}
    verdict = measurement.get("verdict", "not measured")
    if journal.get("deviated") and verdict in PASSING:
        verdict = "unresolved"
    stop_requested = (journal.get("status") == "interrupted" and not safeguards.guardian.was_triggered
                      and marks.get("stopped_by_control") is None)
    reason = _reason(journal)
    if stop_requested:
        verdict, reason = "interrupted", "stopped on request (Ctrl-C or SIGTERM); rollbacks ran"
    if safeguards.guardian.was_triggered:
        reason = f"safeguard '{safeguards.guardian.triggered_by}' stopped the drill"
    return DrillResult(name, spec.get("alertname", ""), verdict, journal.get("status", "?"), path, measurement,
                       reason, stop_requested)
