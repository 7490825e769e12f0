"""End to end with the demo stack running: every panel of every dashboard gets data from the real
Prometheus, except the panels each dashboard declares incident-only (`Board.incident_only`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bongsu.build import BuildOptions
from bongsu.observe import wait_for
from bongsu.stack import Stack
from dashboards import boards, panel_data, render_panels, to_json
from dashboards.build import check

pytestmark = pytest.mark.e2e
WARM_UP_S = 180  # 5m-window recording rules and rates need a few scrapes and evaluations first
CURVE_S = 40  # the preview test draws once every dashboard has at least this much history
PREVIEW_WINDOW = timedelta(minutes=3)


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
    empty: list[str] = []

    def all_have_data() -> bool:
        empty[:], rejected = _gaps(demo_stack)
        assert rejected == [], "Prometheus rejected dashboard queries:\n" + "\n".join(rejected)
        return not empty

    wait_for(all_have_data, WARM_UP_S, "every panel with data (but the incident-only ones)", interval=5,
             last_seen=lambda: "panels without data: " + "; ".join(empty))


def test_dashboards_check_against_the_stack_build(demo_stack: Stack) -> None:
    """The stack's own build, with the real alert rules: every dashboard_url they carry resolves."""
    findings = list(check(demo_stack.settings.catalog, BuildOptions(out=demo_stack.run_dir / "build")))
    assert [f"{f.check}: {f.detail}" for f in findings if not f.ok] == []
    assert any("linked dashboard UIDs exist" in f.check for f in findings)


def _longest_curves(stack: Stack, end: datetime, boards_: list) -> dict[str, tuple[int, str]]:
    """board uid -> (the most non-NaN points any one series of its panels has over the preview's window,
    that panel's title): exactly the queries and window the preview draws."""
    longest = {}
    for board in boards_:
        best = (0, "(no panel)")
        for panel in panel_data(to_json(board), stack.urls["prometheus"], end - PREVIEW_WINDOW, end,
                                scrape_interval_s=stack.settings.scrape_interval.seconds):
            for series in panel.series:
                best = max(best, (sum(v == v for v in series.values), panel.title))  # v == v: not NaN
        longest[board.uid] = best
    return longest


def test_preview_draws_real_curves_for_every_dashboard(demo_stack: Stack, tmp_path: Path) -> None:
    # Wait for what the preview needs, on its own queries: an earlier test on this session's stack (a
    # target-down drill) may have left a gap in a service's raw series within the window, which the
    # 5m-window recording rules do not show.
    points = int(CURVE_S / demo_stack.settings.scrape_interval.seconds)
    all_boards = boards(demo_stack.settings.catalog)
    seen: dict[str, tuple[int, str]] = {}

    def short_boards() -> dict[str, tuple[int, str]]:
        seen.update(_longest_curves(demo_stack, datetime.now(timezone.utc), all_boards))
        return {uid: best for uid, best in seen.items() if best[0] < points}

    wait_for(lambda: not short_boards(), WARM_UP_S,
             f"every dashboard with a curve of {points} points over the last {PREVIEW_WINDOW}", interval=5,
             last_seen=lambda: ", ".join(f"{uid}: {n} points ({title})" for uid, (n, title)
                                         in sorted(seen.items()) if n < points))
    end = datetime.now(timezone.utc)
    for board in all_boards:
        rendered = render_panels(to_json(board), demo_stack.urls["prometheus"], tmp_path / f"{board.uid}.png",
                                 start=end - PREVIEW_WINDOW, end=end,
                                 scrape_interval_s=demo_stack.settings.scrape_interval.seconds)
        assert rendered.path.stat().st_size > 20_000, board.uid
        curves = [p.title for p in rendered.panels
                  if any(sum(v == v for v in s.values) >= points for s in p.series)]  # v == v: not NaN
        assert curves, f"{board.uid}: no panel has a curve of {points} points after {CURVE_S}s"
