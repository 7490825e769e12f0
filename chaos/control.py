"""The drills' Chaos Toolkit control: stop at the first failed step, and measure at the end.

- Probes in `method` do not fail a run by their tolerance (chaostoolkit-lib #55). This control
  interrupts the run when a method activity fails or misses its tolerance, so a drill whose alert
  never fires stops there (rollbacks still run, strategy always) instead of waiting out every step.
- After the experiment it measures time-to-detect/notify/resolve against the configuration floors
  (chaos.measure) and writes them into the journal under `bongsu`.
"""

from __future__ import annotations

import logging

from chaoslib.exceptions import InterruptExecution
from chaoslib.hypothesis import within_tolerance

from chaos import marks
from chaos.measure import drill_spec, measure
from chaos.stackfile import stack_from

logger = logging.getLogger("chaostoolkit")


def before_experiment_control(context: dict, configuration: dict | None = None, secrets: dict | None = None,
                              **kwargs) -> None:
    marks.reset()


def after_activity_control(context: dict, state: dict, experiment: dict | None = None,
                           configuration: dict | None = None, secrets: dict | None = None, **kwargs) -> None:
    method = (experiment or {}).get("method", [])
    if not any(context is step for step in method):
        return
    name = context.get("name", "?")
    if state.get("status") == "failed":
        if not any("InterruptExecution" in line for line in state.get("exception") or []):
            marks.mark("stopped_by_control")  # a real miss, not a Ctrl-C/SIGTERM inside a waiting probe
        raise InterruptExecution(f"drill step '{name}' failed: {state.get('exception', [''])[-1].strip()}")
    if "tolerance" in context and not within_tolerance(context["tolerance"], state.get("output"),
                                                       configuration, secrets):
        marks.mark("stopped_by_control")
        raise InterruptExecution(f"drill step '{name}' returned {state.get('output')!r}, "
                                 f"outside its tolerance {context['tolerance']!r}")


def after_experiment_control(context: dict, state: dict, configuration: dict | None = None,
                             secrets: dict | None = None, **kwargs) -> None:
    spec = drill_spec(context)
    if spec is None:
        return
    try:
        state["bongsu"] = measure(state, spec, stack_from(configuration))
    except Exception as exc:  # noqa: BLE001 - a control's error is otherwise swallowed: say it in the journal
        logger.error(f"bongsu: could not measure the drill: {exc}")
        state["bongsu"] = {"drill": spec["name"], "verdict": "not measured", "error": str(exc)}
