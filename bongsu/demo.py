"""`bongsu demo`: one real incident, end to end, narrated in the terminal.

Up the stack with load, break `payments`, watch the page alert fire in Prometheus, get routed by
Alertmanager and reach the notifier, then heal it and watch the alert resolve. Every interval is
measured, not assumed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bongsu import observe
from bongsu.stack import Stack, StackSettings

FAULTY_SERVICE = "payments"


class DemoFailed(RuntimeError):
    """A demo step did not happen; the message names the step and what was last seen."""


@dataclass
class Timeline:
    marks: dict[str, float] = field(default_factory=dict)
    receivers: list[str] = field(default_factory=list)

    def mark(self, name: str) -> float:
        self.marks[name] = time.time()
        return self.marks[name]

    def between(self, start: str, end: str) -> float:
        return self.marks[end] - self.marks[start]


def set_fault(stack: Stack, service: str, error_rate: float, duration_s: int = 600) -> None:
    response = httpx.post(f"{stack.urls[service]}/fault", json={"error_rate": error_rate, "duration_s": duration_s},
                          headers={"Authorization": f"Bearer {stack.fault_token}"}, timeout=5)
    response.raise_for_status()


def clear_fault(stack: Stack, service: str) -> None:
    response = httpx.delete(f"{stack.urls[service]}/fault",
                            headers={"Authorization": f"Bearer {stack.fault_token}"}, timeout=5)
    response.raise_for_status()


def run_incident(stack: Stack, console: Console, fire_timeout: float = 240,
                 resolve_timeout: float = 600) -> Timeline:
    """Inject 100% errors into payments and follow the page alert to resolution. Returns the marks."""
    catalog = stack.settings.catalog
    service = catalog.service(FAULTY_SERVICE)
    slo = next(s for s in service.slos if s.sli == "http_availability")
    alertname = service.slo_alert(slo)
    page = {"service": service.name, "severity": "page"}
    prom, am, notifier = stack.urls["prometheus"], stack.urls["alertmanager"], stack.urls["notifier"]
    timeline = Timeline()

    def step(what: str, condition, timeout: float):
        with console.status(what):
            try:
                return observe.wait_for(lambda: (stack.check_children(), condition())[1], timeout, what)
            except observe.WaitTimedOut as exc:
                raise DemoFailed(str(exc)) from None

    step("waiting for Prometheus to scrape traffic from the shop",
         lambda: observe.query(prom, f'sum(rate(http_server_request_duration_seconds_count{{job="{service.name}"}}[1m])) > 0'),
         120)
    step("checking the steady state: nothing firing for payments",
         lambda: observe.alert_state(prom, alertname, page) == "inactive", 60)
    console.print("[green]✓[/] steady state: traffic flowing, no alerts for payments")

    set_fault(stack, service.name, error_rate=1.0)
    timeline.mark("fault")
    console.print(f"[bold red]⚡ fault injected[/]: every request to {service.name} now answers 500")

    step(f"waiting for {alertname} to go pending", lambda: observe.alert_state(prom, alertname, page) != "inactive",
         fire_timeout)
    step(f"waiting for {alertname} to fire", lambda: observe.alert_state(prom, alertname, page) == "firing",
         fire_timeout)
    timeline.mark("firing")
    console.print(f"[green]✓[/] Prometheus: [bold]{alertname}[/] is [red]firing[/] "
                  f"({timeline.between('fault', 'firing'):.0f}s after the fault)")

    routed = step("waiting for Alertmanager to route it",
                  lambda: observe.alertmanager_alerts(am, alertname), 120)
    timeline.receivers = sorted({r["name"] for alert in routed for r in alert.get("receivers", [])})
    timeline.mark("routed")
    console.print(f"[green]✓[/] Alertmanager: routed to receiver(s) [bold]{', '.join(timeline.receivers)}[/]")

    delivered = step("waiting for the notifier to deliver the page",
                     lambda: observe.delivery_for(notifier, stack.webhook_token, alertname, "firing"), 120)
    timeline.mark("notified")
    console.print(Panel(_render(stack, delivered, first=True),
                        title=f"what the on-call gets in {delivered.get('channel')}", border_style="red"))

    clear_fault(stack, service.name)
    timeline.mark("cleared")
    console.print("[bold green]🩹 fault cleared[/]; the alert resolves once the 5-minute window has drained")
    step(f"waiting for {alertname} to resolve in Prometheus (about 5 minutes)",
         lambda: observe.alert_state(prom, alertname, page) == "inactive", resolve_timeout)
    timeline.mark("resolved")
    resolved = step("waiting for the notifier to deliver the resolution",
                    lambda: observe.delivery_for(notifier, stack.webhook_token, alertname, "resolved"), 180)
    timeline.mark("resolution_notified")
    console.print(Panel(_render(stack, resolved, first=False), title="the same message, resolved",
                        border_style="green"))
    return timeline


def _render(stack: Stack, delivery: dict, first: bool) -> str:
    """The Slack message as the on-call reads it, from the notifier's offline journal when there is one:
    the first post of the group's message for the page; its latest update and the thread for the rest."""
    from notifier.sinks import plain_text

    journal = stack.run_dir / "notifier" / "notifications.jsonl"
    root = delivery.get("thread_ts") or delivery.get("ts")
    records = [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
    message = [r for r in records if r.get("ts") == root and r.get("blocks")]
    if not message:
        return json.dumps(delivery.get("alerts", []), indent=2)[:2000]
    text = plain_text((message[0] if first else message[-1])["blocks"])
    if not first:
        replies = [r.get("text", "") for r in records if r.get("thread_ts") == root]
        text += "".join(f"\n  ↳ in thread: {reply}" for reply in replies)
    return text


def summary(timeline: Timeline) -> Table:
    table = Table(title="Incident timings (measured)")
    table.add_column("interval")
    table.add_column("seconds", justify="right")
    for label, start, end in (("fault → firing in Prometheus", "fault", "firing"),
                              ("fault → notification delivered", "fault", "notified"),
                              ("clear → resolved in Prometheus", "cleared", "resolved"),
                              ("clear → resolution delivered", "cleared", "resolution_notified")):
        table.add_row(label, f"{timeline.between(start, end):.1f}")
    return table


def run_demo(settings: StackSettings, console: Console) -> Timeline:
    with Stack(settings, console) as stack:
        stack.print_endpoints()
        timeline = run_incident(stack, console)
        console.print(summary(timeline))
    console.print("[bold green]demo complete[/]: the stack is stopped")
    return timeline
