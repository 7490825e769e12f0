"""End to end with the demo stack running: every panel of every dashboard gets data from the real
Prometheus, except the panels each dashboard declares incident-only (`Board.incident_only`)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from bongsu.build import BuildOptions
from bongsu.stack import Stack
from dashboards import boards, panel_data, render_panels, to_json
from dashboards.build import check
from dashboards.panel_data import query_range

pytestmark = pytest.mark.e2e
WARM_UP_S = 180  # 5m-window recording rules and rates need a few scrapes and evaluations first
CURVE_S = 40  # the preview test draws once every dashboard has at least this much history


def _gaps(stack: Stack) -> tuple[list[str], list[str]]:
    """(panels that should have data but lack it, queries Prometheus rejected), over the last 3 minutes."""
    url = stack.urls["prometheus"]
    end = datetime.now(timezone.utc)
    empty, rejected = [], []
    for board in boards(stack.settings.catalog):
        for panel in panel_data(to_json(board), url, end - timedelta(minutes=3), end,
                                scrape_interval_s=stack.settings.scrape_interval.seconds):
            rejected += [f"{board.uid} / {panel.title}: {error}" for error in panel.errors]
            if panel.title not in board.incident_only and panel.empty_queries():
                empty.append(f"{board.uid} / {panel.title} (queries {', '.join(panel.empty_queries())})")
    return empty, rejected


def test_every_panel_has_data_except_the_declared_incident_only_ones(demo_stack: Stack) -> None:
    deadline = time.monotonic() + WARM_UP_S
    while True:
        empty, rejected = _gaps(demo_stack)
        assert rejected == [], "Prometheus rejected dashboard queries:\n" + "\n".join(rejected)
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert empty == [], f"panels without data after {WARM_UP_S}s of demo traffic:\n" + "\n".join(empty)


def test_dashboards_check_against_the_stack_build(demo_stack: Stack) -> None:
    """The stack's own build, with the real alert rules: every dashboard_url they carry resolves."""
    findings = list(check(demo_stack.settings.catalog, BuildOptions(out=demo_stack.run_dir / "build")))
    assert [f"{f.check}: {f.detail}" for f in findings if not f.ok] == []
    assert any("linked dashboard UIDs exist" in f.check for f in findings)


def _history_s(stack: Stack) -> float:
    """How long the slowest-starting series (a 5m recording rule) has had samples, in seconds."""
    series = query_range(httpx.Client(timeout=10), stack.urls["prometheus"],
                         'slo:sli_error:ratio_rate5m{service="payments",slo="availability"}',
                         time.time() - 600, time.time(), stack.settings.evaluation_interval.seconds)
    return len(series[0]["values"]) * stack.settings.evaluation_interval.seconds if series else 0.0


def test_preview_draws_real_curves_for_every_dashboard(demo_stack: Stack, tmp_path: Path) -> None:
    deadline = time.monotonic() + WARM_UP_S
    while _history_s(demo_stack) < CURVE_S and time.monotonic() < deadline:
        time.sleep(5)
    end = datetime.now(timezone.utc)
    points = int(CURVE_S / demo_stack.settings.scrape_interval.seconds)
    for board in boards(demo_stack.settings.catalog):
        rendered = render_panels(to_json(board), demo_stack.urls["prometheus"], tmp_path / f"{board.uid}.png",
                                 start=end - timedelta(minutes=3), end=end,
                                 scrape_interval_s=demo_stack.settings.scrape_interval.seconds)
        assert rendered.path.stat().st_size > 20_000, board.uid
        curves = [p.title for p in rendered.panels
                  if any(sum(v == v for v in s.values) >= points for s in p.series)]  # v == v: not NaN
        assert curves, f"{board.uid}: no panel has a curve of {points} points after {CURVE_S}s"
