"""The coverage matrix of `bongsu drill --all` and the drill report: fault against expected alert.

Rows are drills (one fault each), columns the alerts the drills expect. The expected cell says
detected, late, missed, unresolved or not run; any other cell says `extra` when that alert fired
during the drill without being expected (a cascade, or noise).
"""

from __future__ import annotations

from rich.table import Table

from chaos.drill import DrillResult

_STYLE = {"detected": "green", "late": "yellow", "missed": "bold red", "unresolved": "red",
          "not run": "red", "not measured": "red", "interrupted": "yellow", "extra": "magenta"}


def columns(results: list[DrillResult]) -> list[str]:
    return list(dict.fromkeys(r.alertname for r in results))


def cells(results: list[DrillResult]) -> list[tuple[str, list[str]]]:
    """(drill, one word per column) for every drill."""
    names = columns(results)
    rows = []
    for result in results:
        extra = {text.split("{", 1)[0] for text in result.extra_alerts}
        row = [result.verdict if alert == result.alertname else ("extra" if alert in extra else "")
               for alert in names]
        rows.append((result.name, row))
    return rows


def matrix_table(results: list[DrillResult]) -> Table:
    table = Table(title="Drill coverage: fault against expected alert")
    table.add_column("drill (fault)")
    for alert in columns(results):
        table.add_column(alert, justify="center")
    for name, row in cells(results):
        table.add_row(name, *[f"[{_STYLE[c]}]{c}[/]" if c else "·" for c in row])
    return table


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value == float("inf"):
        return "∞"
    return f"{value:.0f}"


def intervals_table(results: list[DrillResult]) -> Table:
    table = Table(title="Measured intervals against configuration floors (seconds: measured / floor / bound)")
    for heading in ("drill", "verdict", "fault → firing", "firing → Slack", "cleared → resolved", "extra alerts"):
        table.add_column(heading)
    for r in results:
        row = [r.name, f"[{_STYLE.get(r.verdict, 'red')}]{r.verdict}[/]"]
        for key in ("detect_s", "notify_s", "resolve_s"):
            row.append(_triple(r.measurement, key))
        row.append(", ".join(r.extra_alerts) or "–")
        table.add_row(*row)
    return table


def _triple(measurement: dict, key: str) -> str:
    measured = measurement.get("intervals", {}).get(key)
    floor = measurement.get("floors", {}).get(key)
    limit = measurement.get("bounds", {}).get(key)
    return f"{_seconds(measured)} / {_seconds(floor)} / {_seconds(limit)}"


def markdown(results: list[DrillResult]) -> str:
    """The drill report: matrix, intervals against floors, and why anything failed."""
    names = columns(results)
    lines = ["# Drill report", "", "## Coverage matrix", "",
             "| drill (fault) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in cells(results):
        lines.append(f"| {name} | " + " | ".join(c or "·" for c in row) + " |")
    lines += ["", "## Intervals (seconds: measured / floor / bound)", "",
              "| drill | verdict | fault → firing | firing → Slack | cleared → resolved | extra alerts |",
              "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.verdict} | " + " | ".join(_triple(r.measurement, k) for k in
                                                                ("detect_s", "notify_s", "resolve_s"))
                     + f" | {', '.join(r.extra_alerts) or '–'} |")
    failures = [r for r in results if not r.passed or r.reason]
    if failures:
        lines += ["", "## What went wrong", ""]
        lines += [f"- **{r.name}** ({r.verdict}): {r.reason or 'see the journal'} (journal `{r.journal_path.name}`)"
                  for r in failures]
    lines += ["", "Floors add scrape interval, evaluation interval, the rule's `for` and the burn-rate window "
              "arithmetic (time-to-notify: the route's `group_wait`, or 0 when the alert joined a group "
              "that was already notified). A bound is 1.25 x floor + 30 s (for notification, of the larger "
              "of `group_wait` and `group_interval`).", ""]
    return "\n".join(lines)
