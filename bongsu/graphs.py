"""How one part asks for a service's dashboard as a PNG without importing the part that draws it.

The post-mortem (chaos) wants the graphs the on-call engineer saw; the dashboards part draws them. The
painter is found through the `bongsu.graphs` entry point group (pyproject.toml), like pytest's and
Chaos Toolkit's plugins, so neither part imports the other and an install without the dashboards
extra simply has no painter.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from bongsu.catalog import Catalog, Service

GROUP = "bongsu.graphs"


class BoardPainter(Protocol):
    """Draw `service`'s SLO dashboard (its RED dashboard when `outage`) from `prometheus` into `out`."""

    def __call__(self, catalog: Catalog, service: Service, *, outage: bool, prometheus: str, out: Path,
                 start: datetime, end: datetime, scrape_interval_s: float) -> Path: ...


def board_painter() -> BoardPainter | None:
    """The installed painter, or None when no part provides one (or its extra is not installed)."""
    for entry in entry_points(group=GROUP):
        try:
            painter: BoardPainter = entry.load()
        except ModuleNotFoundError:
            continue  # registered, but its optional dependencies (grafanalib, matplotlib) are missing
        return painter
    return None
