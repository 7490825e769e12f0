"""The `bongsu.graphs` painter the post-mortem draws with, found by entry point (never imported by chaos),
drawing a service's dashboard from a real Prometheus."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from matplotlib import image

from bongsu.graphs import board_painter
from dashboards.graphs import paint_service_board
from tests.dashboards.conftest import Scraped


def test_the_entry_point_names_the_dashboards_painter() -> None:
    assert board_painter() is paint_service_board


def test_the_painter_draws_the_red_board_for_an_outage_and_the_slo_board_otherwise(scraped: Scraped,
                                                                                   tmp_path: Path) -> None:
    painter = board_painter()
    assert painter is not None
    payments = scraped.catalog.service("payments")
    end = datetime.now(timezone.utc)
    drawn = {}
    for outage in (True, False):
        out = tmp_path / f"{'red' if outage else 'slo'}.png"
        assert painter(scraped.catalog, payments, outage=outage, prometheus=scraped.url, out=out,
                       start=end - timedelta(minutes=2), end=end, scrape_interval_s=1) == out
        drawn[outage] = image.imread(out)
        assert drawn[outage].shape[1] == 1800  # the dashboard grid's width, as in the preview
    assert drawn[True].shape != drawn[False].shape or (drawn[True] != drawn[False]).any()
