"""The dashboards part's `bongsu.graphs` painter (bongsu/graphs.py): a service's dashboard as a PNG,
drawn from live Prometheus data by the same renderer as `bongsu dashboards preview`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bongsu.catalog import Catalog, Service

from dashboards.boards import to_json
from dashboards.red import red_board
from dashboards.render import render_panels
from dashboards.slo import slo_board


def paint_service_board(catalog: Catalog, service: Service, *, outage: bool, prometheus: str, out: Path,
                        start: datetime, end: datetime, scrape_interval_s: float) -> Path:
    board = red_board(catalog, service) if outage else slo_board(catalog, service)
    render_panels(to_json(board), prometheus, out, start=start, end=end, scrape_interval_s=scrape_interval_s)
    return out
