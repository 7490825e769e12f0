"""`bongsu dashboards push|preview`: put the dashboards into a Grafana, or look at them without one."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from bongsu import conventions
from bongsu.catalog import Duration
from bongsu.terminal import CatalogOption, console, err, fail, read_catalog

from dashboards.boards import boards, to_json
from dashboards.panel_data import PrometheusUnreachable, scrape_interval
from dashboards.push import TOKEN_ENV, PushError, push
from dashboards.render import render_panels

app = typer.Typer(help="Grafana dashboards: push them to a Grafana, or preview them as PNGs.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command("push")
def push_command(
    grafana_url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://localhost:3000.")],
    catalog: CatalogOption = None,
) -> None:
    """Upload every dashboard through Grafana's HTTP API (token from GRAFANA_TOKEN), idempotently by UID."""
    model = read_catalog(catalog)
    try:
        results = push(boards(model), grafana_url, os.environ.get(TOKEN_ENV, ""))
    except (PushError, ValueError) as exc:
        raise fail(str(exc), 1) from None
    for result in results:
        console.print(f"{result.outcome:<9} {result.title}  [dim]{result.url}[/]", highlight=False)
    changed = sum(r.outcome != "unchanged" for r in results)
    console.print(f"[green]{len(results)} dashboards in Grafana[/], {changed} changed")


@app.command("preview")
def preview_command(
    prometheus_url: Annotated[str, typer.Option(
        envvar=conventions.PROMETHEUS_URL, help="Prometheus to read from (env PROMETHEUS_URL).")] = "http://127.0.0.1:9090",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNGs.")] = Path("out/preview"),
    since: Annotated[str, typer.Option(help="How far back to draw, e.g. 15m, 1h, 1d.")] = "1h",
    dashboard: Annotated[Optional[list[str]], typer.Option(
        "--dashboard", "-d", help="Only this dashboard UID (repeatable).")] = None,
    catalog: CatalogOption = None,
) -> None:
    """Render each dashboard's panels as a PNG from live Prometheus data, in the dashboard's layout."""
    model = read_catalog(catalog)
    try:
        window = Duration.parse(since)
    except ValueError as exc:
        raise fail(f"--since: {exc}") from None
    chosen = [b for b in boards(model) if not dashboard or b.uid in dashboard]
    unknown = sorted(set(dashboard or []) - {b.uid for b in chosen})
    if unknown:
        raise fail(f"no dashboard with UID {', '.join(unknown)}; known: "
                    f"{', '.join(b.uid for b in boards(model))}")
    end = datetime.now(timezone.utc)
    start = end - timedelta(milliseconds=window.ms)
    try:
        scrape = scrape_interval(prometheus_url)
        failures = 0
        for board in chosen:
            rendered = render_panels(to_json(board), prometheus_url, out / f"{board.uid}.png", start=start,
                                     end=end, scrape_interval_s=scrape)
            errors = [f"{p.title}: {e}" for p in rendered.panels for e in p.errors]
            failures += len(errors)
            console.print(f"wrote {rendered.path}", highlight=False)
            for error in errors:
                err.print(f"  [red]query failed[/] {error}", highlight=False, markup=True)
    except PrometheusUnreachable as exc:
        raise fail(str(exc), 3) from None
    if failures:
        raise fail(f"{failures} queries failed in Prometheus; their panels show the error", 1)
