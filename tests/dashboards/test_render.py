"""The preview renderer and panel queries against a real Prometheus scraping contract metrics."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from matplotlib import image
from typer.testing import CliRunner

from bongsu.catalog import parse_catalog
from dashboards import PrometheusUnreachable, boards, panel_data, render_panels, to_json
from dashboards.cli import app
from tests.dashboards.conftest import Scraped

Z = 1.96


def _board(scraped: Scraped, uid: str) -> dict:
    return next(to_json(b) for b in boards(scraped.catalog) if b.uid == uid)


def _window() -> tuple[datetime, datetime]:
    end = datetime.now(timezone.utc)
    return end - timedelta(minutes=2), end


def test_red_dashboard_renders_every_panel_with_data(scraped: Scraped, tmp_path: Path) -> None:
    start, end = _window()
    red = _board(scraped, "bongsu-red-payments")
    rendered = render_panels(red, scraped.url, tmp_path / "red.png", start=start, end=end, scrape_interval_s=1)
    titles = [p["title"] for p in red["panels"] if p["type"] == "timeseries"]
    assert [p.title for p in rendered.panels] == titles
    for panel in rendered.panels:
        assert panel.errors == [] and panel.empty_queries() == [], panel.title
    rate = next(p for p in rendered.panels if p.title == "Request rate by route")
    assert {s.name for s in rate.series} == {"/charges", "/charges/{charge_id}"}
    assert all(v > 0 for s in rate.series for v in s.values if not math.isnan(v))
    pixels = image.imread(rendered.path)
    grid_rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in red["panels"])
    assert pixels.shape[1] == 1800 and pixels.shape[0] > grid_rows * 30  # the dashboard's grid, scaled


def test_a_subset_of_panels_and_variable_overrides(scraped: Scraped, tmp_path: Path) -> None:
    start, end = _window()
    red = _board(scraped, "bongsu-red-payments")
    rendered = render_panels(red, scraped.url, tmp_path / "one.png", start=start, end=end, scrape_interval_s=1,
                             panels=["Request rate by route"], variables={"route": "/charges"})
    assert [p.title for p in rendered.panels] == ["Request rate by route"]
    assert {s.name for s in rendered.panels[0].series} == {"/charges"}
    assert rendered.path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no panel titled 'Request rates'; its panels: Active requests, CPU"):
        render_panels(red, scraped.url, tmp_path / "typo.png", panels=["Request rates"])


def test_a_query_prometheus_rejects_is_reported_in_its_panel(scraped: Scraped, tmp_path: Path) -> None:
    start, end = _window()
    red = _board(scraped, "bongsu-red-payments")
    red["panels"][1]["targets"][0]["expr"] = "sum(rate(up[5m])"
    rendered = render_panels(red, scraped.url, tmp_path / "bad.png", start=start, end=end, scrape_interval_s=1,
                             panels=[red["panels"][1]["title"]])
    assert len(rendered.panels[0].errors) == 1
    assert "query A" in rendered.panels[0].errors[0] and "parse error" in rendered.panels[0].errors[0]
    assert rendered.path.exists()


def test_unreachable_prometheus_is_a_clear_error(scraped: Scraped, tmp_path: Path) -> None:
    with pytest.raises(PrometheusUnreachable, match="cannot reach Prometheus at http://127.0.0.1:9"):
        render_panels(_board(scraped, "bongsu-red-payments"), "http://127.0.0.1:9", tmp_path / "x.png")


def _last(panel, name: str) -> tuple[datetime, float]:
    series = next(s for s in panel.series if s.name == name)
    return max((t, v) for t, v in zip(series.times, series.values) if not math.isnan(v))


def test_experiment_intervals_match_wilson_and_normal_approximation(scraped: Scraped) -> None:
    # The scraped app is `payments`-shaped; point an experiment at it.
    catalog = parse_catalog("""
slack: {default_channel: "#alerts"}
teams: [{name: payments, slack_channel: "#payments"}]
services: [{name: payments, team: payments}]
experiments: [{name: checkout-button, service: payments, variants: [control, one-click]}]
""")
    model = next(to_json(b) for b in boards(catalog) if b.uid == "bongsu-experiment-checkout-button")
    start, end = _window()
    data = {p.title: p for p in panel_data(model, scraped.url, start, end, scrape_interval_s=1)}
    assert all(not p.errors and not p.empty_queries() for p in data.values()), data
    rate = data["Conversion rate per variant (95% Wilson interval)"]
    sizes = data["Exposures in window (sample size)"]
    p_of = {}
    for variant in ("control", "one-click"):
        when, p = _last(rate, variant)
        n = dict(zip(next(s for s in sizes.series if s.name == variant).times,
                     next(s for s in sizes.series if s.name == variant).values))[when]
        centre, spread = p + Z * Z / (2 * n), Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
        low, high = (centre - spread) / (1 + Z * Z / n), (centre + spread) / (1 + Z * Z / n)
        assert _last(rate, f"{variant} 95% low") == (when, pytest.approx(low, rel=1e-9))
        assert _last(rate, f"{variant} 95% high") == (when, pytest.approx(high, rel=1e-9))
        assert low < p < high and 0 < p < 1
        p_of[variant] = (p, n)
    lift = data["Difference to control (95% normal approximation)"]
    (p1, n1), (p0, n0) = p_of["one-click"], p_of["control"]
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert _last(lift, "one-click")[1] == pytest.approx(p1 - p0, rel=1e-9)
    assert _last(lift, "one-click 95% low")[1] == pytest.approx(p1 - p0 - Z * se, rel=1e-9)
    assert _last(lift, "one-click 95% high")[1] == pytest.approx(p1 - p0 + Z * se, rel=1e-9)


def test_cli_preview_writes_one_png_per_dashboard(scraped: Scraped, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["preview", "--prometheus-url", scraped.url, "--out", str(tmp_path),
                                 "--since", "2m", "-d", "bongsu-red-payments", "-d", "bongsu-self-health"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["bongsu-red-payments.png", "bongsu-self-health.png"]
    unknown = runner.invoke(app, ["preview", "--prometheus-url", scraped.url, "-d", "nope"])
    assert unknown.exit_code == 2 and "no dashboard with UID nope" in unknown.output
    down = runner.invoke(app, ["preview", "--prometheus-url", "http://127.0.0.1:9", "--out", str(tmp_path)])
    assert down.exit_code == 3 and "cannot reach Prometheus" in down.output and "Traceback" not in down.output
