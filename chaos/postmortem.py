"""`bongsu postmortem`: a Markdown post-mortem draft for a drill's journal or any time window.

Everything in it is read back from the systems that saw the incident: alert history from Prometheus
(`ALERTS`), deliveries from the notifier, silences from Alertmanager, the drill journal's steps and
measurements, and graphs drawn from Prometheus. People fill in the why and the action items.
No pandoc: plain Markdown with PNGs beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bongsu import conventions, graphs
from bongsu.catalog import SLO, Catalog, Duration, Service, error_ratio_record
from chaos import alertmanager, prometheus
from chaos.experiments import page_tier
from chaos.deliveries import delivered_at, deliveries
from chaos.measure import drill_spec
from chaos.stackfile import StackFile

REQUESTS = conventions.HTTP_REQUEST_DURATION


@dataclass(frozen=True)
class Event:
    at: float
    source: str
    what: str


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _step(start: float, end: float) -> float:
    return max(1.0, math.ceil((end - start) / 600))


def alert_events(stack: StackFile, start: float, end: float) -> list[Event]:
    """Pending, firing and resolved transitions of every alert in the window, from `ALERTS`."""
    step = _step(start, end)
    events: list[Event] = []
    for labels, values in prometheus.query_range(stack.prometheus, "ALERTS", start, end, step):
        name = labels.get("alertname", "?")
        where = ", ".join(f"{k}={labels[k]}" for k in ("service", "slo", "long_window", "severity") if k in labels)
        state = labels.get("alertstate")
        times = [t for t, _ in values]
        runs, run_start, previous = [], times[0], times[0]
        for t in times[1:]:
            if t - previous > step * 1.5:
                runs.append((run_start, previous))
                run_start = t
            previous = t
        runs.append((run_start, previous))
        for begin, finish in runs:
            events.append(Event(begin, "Prometheus", f"{name} ({where}) {state}"))
            if state == "firing" and finish < end - step * 1.5:
                events.append(Event(finish + step, "Prometheus", f"{name} ({where}) resolved"))
    return events


def delivery_events(stack: StackFile, start: float, end: float) -> list[Event]:
    """What the notifier delivered (and any acks recorded on the delivery) in the window."""
    events = []
    for delivery in deliveries(stack.notifier, stack.webhook_token):
        if not delivery.get("delivered_at"):
            continue
        at = delivered_at(delivery)
        if not start <= at <= end:
            continue
        names = sorted({a.get("labels", {}).get("alertname", "?") for a in delivery.get("alerts", [])})
        events.append(Event(at, "notifier", f"{delivery.get('status')} message for {', '.join(names)} "
                                            f"delivered to {delivery.get('channel')}"))
        for key in ("acked_by", "acknowledged_by"):
            if delivery.get(key):
                events.append(Event(at, "notifier", f"acknowledged by {delivery[key]}"))
    return events


def rollback_events(stack: StackFile, start: float, end: float) -> list[Event]:
    """Roll back button presses recorded by the notifier: who, from which build to which, the outcome."""
    answer = httpx.get(f"{stack.notifier}/api/rollbacks", headers={"Authorization": f"Bearer {stack.webhook_token}"},
                       timeout=10)
    answer.raise_for_status()
    events = []
    for record in answer.json():
        if start <= record["requested_at"] <= end:
            events.append(Event(record["requested_at"], "notifier",
                                f"Roll back of {record['service']} from {record['from_version']} to "
                                f"{record['to_version']} pressed by {record['user_name']} ({record['user_id']})"))
        if record.get("finished_at") and start <= record["finished_at"] <= end:
            events.append(Event(record["finished_at"], "notifier", f"rollback of {record['service']} to "
                                                                   f"{record['to_version']} {record['outcome']}"))
    return events


def silence_events(stack: StackFile, start: float, end: float) -> list[Event]:
    events = []
    for silence in alertmanager.silences(stack.alertmanager):
        created = _parse_time(silence["startsAt"])
        if start <= created <= end:
            matchers = ", ".join(f"{m['name']}={m['value']}" for m in silence.get("matchers", []))
            events.append(Event(created, "Alertmanager", f"silence by {silence.get('createdBy')} until "
                                                         f"{silence.get('endsAt')} on {matchers}: "
                                                         f"{silence.get('comment', '')}"))
    return events


def journal_events(journal: dict) -> list[Event]:
    events = []
    for run in journal.get("run", []) + journal.get("rollbacks", []):
        if run.get("end"):
            events.append(Event(_parse_time(run["end"]), "drill",
                                f"{run['activity']['name']}: {run.get('status')}"))
    return events


def budget_spent(stack: StackFile, service: Service, slo: SLO, start: float, end: float) -> float | None:
    """Share of the SLO window's error budget spent between `start` and `end` (steady traffic assumed)."""
    seconds = max(1, int(end - start))
    ratio = prometheus.query_value(stack.prometheus, _ratio_query(service, slo, seconds), at=end)
    if ratio is None:
        return None
    return ratio * seconds / (slo.error_budget * slo.window.seconds)


def _ratio_query(service: Service, slo: SLO, seconds: int) -> str:
    sel = service.promql_selector
    total = f"sum(increase({REQUESTS}_count{{{sel}}}[{seconds}s]))"
    if slo.sli == "http_availability":
        return f"(sum(increase({REQUESTS}_count{{{sel},{conventions.SERVER_ERROR_MATCHER}}}[{seconds}s])) or vector(0)) / {total}"
    assert slo.threshold is not None
    le = "|".join(sorted({f"{slo.threshold.seconds:g}", repr(float(slo.threshold.seconds))})).replace(".", "\\\\.")
    return f'1 - sum(increase({REQUESTS}_bucket{{{sel},le=~"{le}"}}[{seconds}s])) / {total}'


def burn_graph(stack: StackFile, service: Service, start: float, end: float, out: Path,
               marks: dict[str, float]) -> Path:
    """Burn rate of each of the service's SLOs over the 5m and 1h windows, with fault marks."""
    step = _step(start, end)
    figure, axes = plt.subplots(len(service.slos) or 1, 1, figsize=(10, 3.2 * max(1, len(service.slos))),
                                squeeze=False)
    for ax, slo in zip(axes[:, 0], service.slos):
        for window in ("5m", "1h"):
            record = error_ratio_record(Duration.parse(window))
            series = prometheus.query_range(stack.prometheus,
                                            f'max({record}{{service="{service.name}",slo="{slo.name}"}}) '
                                            f"/ {slo.error_budget}", start, end, step)
            for _, values in series:
                ax.plot([datetime.fromtimestamp(t, timezone.utc) for t, _ in values], [v for _, v in values],
                        label=f"burn rate {window}")
        factor = page_tier().factor(slo.window)
        ax.axhline(factor, color="#d44a3a", linestyle="--", linewidth=1, label=f"page threshold ({factor:g}x)")
        for name, at in marks.items():
            ax.axvline(datetime.fromtimestamp(at, timezone.utc), color="#777777", linestyle=":", linewidth=1)
            ax.annotate(name, (datetime.fromtimestamp(at, timezone.utc), ax.get_ylim()[1] * 0.9), fontsize=8,
                        rotation=90, va="top")
        ax.set_title(f"{service.name} {slo.name} ({slo.objective:g}% over {slo.window})", fontsize=10)
        ax.set_yscale("symlog", linthresh=1)  # a 1000x burst and a 14.4x threshold on one axis
        ax.set_ylabel("x sustainable (symlog)")
        ax.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return out


def dashboard_graph(catalog: Catalog, stack: StackFile, service: Service, start: float, end: float,
                    out: Path, scrape_s: float, outage: bool) -> Path | None:
    """The service's SLO dashboard (its RED dashboard for an outage) as the on-call engineer saw it,
    drawn by whichever part provides the `bongsu.graphs` painter (the dashboards part, when installed)."""
    painter = graphs.board_painter()
    if painter is None:
        return None
    return painter(catalog, service, outage=outage, prometheus=stack.prometheus, out=out,
                   start=datetime.fromtimestamp(start, timezone.utc), end=datetime.fromtimestamp(end, timezone.utc),
                   scrape_interval_s=scrape_s)


def write_postmortem(catalog: Catalog, stack: StackFile, start: float, end: float, out: Path,
                     journal: dict | None = None) -> Path:
    """Write `out` (Markdown) and its PNGs beside it; return the Markdown's path."""
    spec = drill_spec(journal.get("experiment", {})) if journal else None
    measured = (journal or {}).get("bongsu", {})
    services = [catalog.service(spec["service"])] if spec else list(catalog.services)
    events = alert_events(stack, start, end) + silence_events(stack, start, end)
    try:
        events += delivery_events(stack, start, end) + rollback_events(stack, start, end)
    except httpx.HTTPError as exc:
        events.append(Event(start, "notifier", f"deliveries unavailable: {exc}"))
    if journal:
        events += journal_events(journal)
    events.sort(key=lambda e: e.at)
    fired = sorted({e.what.split(" (", 1)[0] for e in events if e.source == "Prometheus" and "firing" in e.what})
    stem = out.with_suffix("")
    lines = [f"# Post-mortem draft: {spec['alertname'] + ' drill' if spec else 'incident'} "
             f"({_iso(start)} to {_iso(end)})", "",
             "_Draft generated by `bongsu postmortem` from Prometheus, Alertmanager, the notifier"
             + (" and the drill journal" if journal else "") + ". Edit freely._", "", "## Summary", ""]
    if spec:
        lines.append(f"Drill **{spec['name']}**: fault {spec['fault']} in `{spec['service']}`; expected "
                     f"**{spec['alertname']}** routed to `{spec['receiver']}` and delivered to `{spec['channel']}`. "
                     f"Verdict: **{measured.get('verdict', 'unknown')}** (journal status "
                     f"{journal.get('status')}).")
    lines.append(f"Alerts that fired in the window: {', '.join(fired) or 'none'}.")
    lines += ["", "## Impact (error budget spent in the window)", "", "| service | SLO | budget spent |",
              "|---|---|---|"]
    for service in services:
        for slo in service.slos:
            spent = budget_spent(stack, service, slo, start, end)
            text = "no traffic" if spent is None else f"{spent * 100:.2f}% of the {slo.window.human()} budget"
            lines.append(f"| {service.name} | {slo.name} ({slo.objective:g}%) | {text} |")
    lines += ["", "## Timeline", "", "| time (UTC) | source | event |", "|---|---|---|"]
    lines += [f"| {_iso(e.at)[11:19]} | {e.source} | {e.what} |" for e in events]
    if measured.get("intervals"):
        lines += ["", "## Detection", "", "| interval | measured (s) | floor (s) | bound (s) | verdict |",
                  "|---|---|---|---|---|"]
        for key, label in (("detect_s", "fault → firing"), ("notify_s", "firing → Slack delivered"),
                           ("resolve_s", "fault cleared → resolved")):
            lines.append(f"| {label} | {_num(measured['intervals'].get(key))} | "
                         f"{_num(measured.get('floors', {}).get(key))} | {_num(measured.get('bounds', {}).get(key))} | "
                         f"{measured.get('verdicts', {}).get(key, '–')} |")
        if measured.get("extra_alerts"):
            lines.append(f"\nAlso fired (not expected by the drill): {', '.join(measured['extra_alerts'])}.")
    lines += ["", "## Graphs", ""]
    scrape_s = Duration.parse(prometheus.config(stack.prometheus).get("global", {}).get("scrape_interval", "1m")).seconds
    marks = {k: v for k, v in (measured.get("moments") or {}).items() if k in ("injected", "cleared")}
    for service in services:
        png = burn_graph(stack, service, start, end, stem.parent / f"{stem.name}-{service.name}-burn.png", marks)
        lines.append(f"![{service.name} burn rates]({png.name})")
        outage = bool(spec) and spec.get("kind") == "outage"
        board = dashboard_graph(catalog, stack, service, start, end,
                                stem.parent / f"{stem.name}-{service.name}-dashboard.png", scrape_s, outage)
        if board:
            lines.append(f"![{service.name} {'RED' if outage else 'SLO'} dashboard]({board.name})")
    lines += ["", "## Links", ""]
    for name in fired or ([spec["alertname"]] if spec else []):
        lines.append(f"- Runbook {name}: {catalog.links.runbook_url(name)}")
    for service in services if catalog.links.grafana_url else []:  # no Grafana configured: no dead links
        lines.append(f"- Dashboards {service.name}: {catalog.links.dashboard_url(service.slo_dashboard_uid)} (SLOs), "
                     f"{catalog.links.dashboard_url(service.red_dashboard_uid)} (RED)")
    lines += ["", "## Contributing factors", "", "_To be written by the authors._", "",
              "## Action items", "", "| action | owner | ticket |", "|---|---|---|",
              "| _TODO: what would have detected this sooner?_ | | |",
              "| _TODO: what would have reduced the impact?_ | | |",
              "| _TODO: what would have prevented it?_ | | |", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return "∞" if value == float("inf") else f"{value:.1f}"
