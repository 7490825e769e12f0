"""`bongsu demo`: one real incident, end to end, narrated in the terminal: detect, explain, recover.

Up the stack with load, then run the `payments-bad-deploy` chaos drill on it: ship payments 1.5.0
(a real bug on a new code path), watch the page alert fire in Prometheus, reach the notifier and
gain its Evidence (the exception, its file:line, build 1.5.0 with its commit, the deploy note),
press Roll back as the on-call would, and watch 1.4.2 come back and the alert resolve. Every
interval is measured and set against the floor the configuration allows, as `bongsu drill` does.
"""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bongsu import observe
from bongsu.errors import EXIT_FAILED, BongsuError
from bongsu.stack import Stack, StackSettings

if TYPE_CHECKING:
    from chaos.drill import DrillResult

DEMO_DRILL = "payments-bad-deploy"
# From the recorded run (docs/recovery.md): about 3.5 min to fire, 5 to resolve after Roll back, plus start-up.
USUAL_MINUTES = 10


class DemoFailed(BongsuError):
    """A demo step did not happen; the message names the step and what was last seen."""

    exit_code = EXIT_FAILED

    def __str__(self) -> str:
        return f"demo step failed: {super().__str__()}"


def run_incident(stack: Stack, console: Console) -> DrillResult:
    """Run the demo drill on a running stack, show what the on-call got, and return the DrillResult."""
    from chaos.coverage import intervals_table
    from chaos.drill import run_drill
    from chaos.experiments import experiments

    experiment = experiments(stack.settings.catalog)[DEMO_DRILL]
    console.print(Panel(experiment["description"], title=experiment["title"], border_style="blue"))
    console.print(plan(experiment))
    result = run_drill(experiment, stack.run_dir / "stack.json", stack.run_dir / "journals", console)
    notifier, token = stack.urls["notifier"], stack.webhook_token
    for status, first, style, title in (("firing", True, "red", "what the on-call got in {channel}"),
                                        ("resolved", False, "green", "the same message, resolved")):
        delivery = observe.delivery_for(notifier, token, result.alertname, status)
        if delivery:
            console.print(Panel(Text(_render(stack, delivery, first)), border_style=style,
                                title=title.format(channel=delivery.get("channel"))))
    console.print(intervals_table([result]))
    console.print(summary(result.measurement.get("moments", {})))
    console.print(f"journal: {result.journal_path}")
    if not result.passed:
        raise DemoFailed(f"the {result.name} drill was {result.verdict}: {result.reason or 'see the journal'}")
    return result


def _render(stack: Stack, delivery: dict[str, Any], first: bool) -> str:
    """The Slack message as the on-call reads it, from the notifier's offline journal when there is one:
    the first post of the group's message for the page; its latest update and the thread for the rest."""
    from notifier.sinks import plain_text

    journal = stack.run_dir / "notifier" / "notifications.jsonl"
    root = delivery.get("thread_ts") or delivery.get("ts")
    records = [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
    message = [r for r in records if r.get("ts") == root and r.get("blocks")]
    if not message:
        return json.dumps(delivery.get("alerts", []), indent=2)[:2000]
    if first:  # the page as it stood once its evidence arrived (the last firing version of the message)
        firing = [r for r in message if r["blocks"][0].get("text", {}).get("text", "").startswith("FIRING")]
        message = firing or message
    text = plain_text(message[-1]["blocks"])
    if not first:
        replies = [r.get("text", "") for r in records if r.get("thread_ts") == root]
        text += "".join(f"\n  ↳ in thread: {html.unescape(reply)}" for reply in replies)
    return text


def plan(experiment: dict[str, Any]) -> str:
    """What the demo waits for, step by step, each with the longest it may take: the demo ends by itself
    when the last step is seen (or fails naming the step that was not)."""
    steps = [step for step in experiment["method"] if step["type"] == "probe"]
    waits = [step["provider"]["arguments"].get("timeout_s", 0) for step in steps]
    lines = [f"The demo ends by itself, usually within {USUAL_MINUTES} minutes and at most "
             f"{math.ceil(sum(waits) / 60)}. After the fault is injected it waits for:"]
    lines += [f"  {index}. {step['name']} (at most {wait / 60:g} min)"
              for index, (step, wait) in enumerate(zip(steps, waits), 1)]
    lines.append("Ctrl-C stops it early; the fault is cleared and the stack stopped either way.")
    return "\n".join(lines)


def summary(moments: dict[str, float]) -> Table:
    table = Table(title="Incident timings (measured)")
    table.add_column("interval")
    table.add_column("seconds", justify="right")
    for label, start, end in (("fault → firing in Prometheus", "injected", "firing"),
                              ("fault → notification delivered", "injected", "notified"),
                              ("firing → evidence on the page", "firing", "evidence"),
                              ("Roll back pressed → good build running", "cleared", "recovered"),
                              ("Roll back pressed → resolved in Prometheus", "cleared", "resolved"),
                              ("Roll back pressed → resolution delivered", "cleared", "resolution_notified")):
        seconds = moments[end] - moments[start] if start in moments and end in moments else None
        table.add_row(label, f"{seconds:.1f}" if seconds is not None else "not seen")
    return table


def run_demo(settings: StackSettings, console: Console) -> DrillResult:
    with Stack(settings, console) as stack:
        stack.print_endpoints("Starting the incident drill on this stack (plan below).")
        result = run_incident(stack, console)
    console.print("[bold green]demo complete[/]: the stack is stopped")
    return result
