"""`bongsu drill` and `bongsu postmortem`, listed in bongsu/cli.py's PARTS and loaded when run."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import httpx
import typer
from chaoslib.exceptions import ActivityFailed

from bongsu.catalog import Catalog
from bongsu.terminal import console, err, fail, read_catalog

from chaos.settings import ChaosSettings


def _stack_path(stack: Optional[Path]) -> Optional[Path]:
    chosen = stack or ChaosSettings().stack
    if chosen is not None and not chosen.is_file():
        raise fail(f"{chosen} does not exist: give the stack.json written by `bongsu up` (in its run folder)")
    return chosen


def drill_command(
    name: Annotated[Optional[str], typer.Argument(help="The drill to run (see --list).")] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every drill and print the coverage matrix.")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the drills and exit.")] = False,
    catalog: Annotated[Optional[Path], typer.Option("--catalog", "-c", help="Service catalog YAML.")] = None,
    stack: Annotated[Optional[Path], typer.Option(
        help="stack.json of a running `bongsu up` (env BONGSU_STACK); default: start a local stack.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Journals, report and post-mortem drafts.")] = Path("drills"),
) -> None:
    """Run chaos drills: inject a fault, prove the page fires, reaches Slack and resolves, in time."""
    from chaos.experiments import experiments

    model = read_catalog(catalog)
    available = experiments(model)
    if list_only:
        for drill_name, experiment in available.items():
            console.print(f"[bold]{drill_name}[/]  {experiment['title']}", highlight=False)
        return
    if run_all == bool(name):
        raise fail("name one drill or pass --all; drills: " + ", ".join(available))
    if name and name not in available:
        raise fail(f"no drill named {name!r}; drills: {', '.join(available)}")
    chosen = list(available.values()) if run_all else [available[name]]
    stack_file = _stack_path(stack)
    try:
        results = _run_all(model, chosen, stack_file, out) if stack_file else _with_own_stack(model, chosen, out)
    except KeyboardInterrupt:
        raise fail("interrupted; faults were rolled back or expire by themselves", 130) from None
    _report(results, out)
    missed = [r for r in results if not r.passed]
    if missed:
        raise fail(f"{len(missed)} of {len(results)} drill(s) did not pass: "
                    + ", ".join(f"{r.name} ({r.verdict})" for r in missed), 1)
    console.print(f"[green]all {len(results)} drill(s) detected, notified and resolved[/]")


def _with_own_stack(model: Catalog, chosen: list[dict], out: Path):
    from bongsu.binaries import MissingBinary
    from bongsu.stack import Stack, StackError, StackSettings

    settings = StackSettings(catalog=model, run_dir=(out / "stack").resolve())
    try:
        with Stack(settings, err) as running:
            running.print_endpoints()
            return _run_all(model, chosen, running.run_dir / "stack.json", out)
    except (StackError, MissingBinary) as exc:
        raise fail(str(exc), 3) from None


def _run_all(model: Catalog, chosen: list[dict], stack_file: Path, out: Path):
    from chaos.drill import run_drill
    from chaos.postmortem import write_postmortem
    from chaos.stackfile import read_stack_file

    results = []
    for experiment in chosen:
        console.rule(experiment["title"])
        result = run_drill(experiment, stack_file, out, console)
        results.append(result)
        journal = json.loads(result.journal_path.read_text())
        start, end = _window(journal)
        try:
            draft = str(write_postmortem(model, read_stack_file(stack_file), start, end,
                                         out / f"postmortem-{result.name}.md", journal))
        except (httpx.HTTPError, ActivityFailed) as exc:
            draft = f"not written: cannot read the stack ({exc})"
        console.print(f"{result.name}: [bold]{result.verdict}[/] {result.reason}  (post-mortem draft {draft})",
                      highlight=False)
        if result.stop_requested:
            console.print("[yellow]stopped on request; the remaining drills were not run[/]")
            break
    return results


def _window(journal: dict) -> tuple[float, float]:
    """The journal's run, with a minute of context before it."""
    start = datetime.fromisoformat(journal["start"]).timestamp()
    end = datetime.fromisoformat(journal["end"]).timestamp() if journal.get("end") else start + 600
    return start - 60, end + 5


def _report(results, out: Path) -> None:
    from chaos.coverage import intervals_table, markdown, matrix_table

    console.print(matrix_table(results))
    console.print(intervals_table(results))
    out.mkdir(parents=True, exist_ok=True)
    (out / "drill-report.md").write_text(markdown(results))
    console.print(f"report: {out / 'drill-report.md'}")


def _timestamp(text: str, what: str) -> float:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"{what} {text!r} is not a time like 2026-12-01T13:05:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def postmortem_command(
    journal: Annotated[Optional[Path], typer.Option(help="A drill's journal (from `bongsu drill` or `chaos run`).")] = None,
    start: Annotated[Optional[str], typer.Option("--from", help="Window start, ISO 8601 (UTC if no zone).")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="Window end, ISO 8601 (default: now).")] = None,
    stack: Annotated[Optional[Path], typer.Option(help="stack.json of the running stack (env BONGSU_STACK).")] = None,
    catalog: Annotated[Optional[Path], typer.Option("--catalog", "-c", help="Service catalog YAML.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Markdown file to write; PNGs go beside it.")] = Path(
        "postmortem.md"),
) -> None:
    """Write a Markdown post-mortem draft from a drill journal or a time window."""
    from chaos.postmortem import write_postmortem
    from chaos.stackfile import read_stack_file

    if (journal is None) == (start is None):
        raise fail("give either --journal FILE or --from TIME [--to TIME]")
    stack_file = _stack_path(stack)
    if stack_file is None:
        raise fail("no stack to read from: pass --stack run/stack.json or set BONGSU_STACK "
                    "(Prometheus, Alertmanager and the notifier must still be running)")
    data = None
    if journal is not None:
        try:
            data = json.loads(journal.read_text())
        except OSError as exc:
            raise fail(f"cannot read {journal}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise fail(f"{journal} is not a journal (invalid JSON at line {exc.lineno})") from None
        if not isinstance(data, dict) or "start" not in data or "experiment" not in data:
            raise fail(f"{journal} is not a Chaos Toolkit journal (no `start`/`experiment`)")
        window = _window(data)
    else:
        window = (_timestamp(start, "--from"), _timestamp(end, "--to") if end else datetime.now(timezone.utc).timestamp())
        if window[1] <= window[0]:
            raise fail("--to must be after --from")
    model = read_catalog(catalog)
    try:
        path = write_postmortem(model, read_stack_file(stack_file), window[0], window[1], out, data)
    except (httpx.HTTPError, ActivityFailed) as exc:
        raise fail(f"cannot read the stack: {exc}", 3) from None
    console.print(f"[green]wrote[/] {path}")
