"""Draw a dashboard's panels as one PNG with matplotlib, in the dashboard's own grid layout.

For reviewers without a Grafana and for post-mortems (the chaos/post-mortem part calls `render_panels`
for the panels around an incident). Units, threshold lines and Grafana's fill-between-series bands are
drawn as Grafana would; annotations and tooltips are not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, PercentFormatter

from dashboards.panel_data import PanelData, Series, panel_data

GRID_COLUMNS = 24
INCH_PER_ROW_UNIT = 0.32  # Grafana's grid row is 30 px
FIGURE_WIDTH = 18.0
_COLORS = {"green": "#299c46", "red": "#d44a3a", "orange": "#ff9830", "yellow": "#fade2a",
           "dark-red": "#a00", "text": "#777777", "blue": "#3274d9"}


@dataclass(frozen=True)
class Rendered:
    """The PNG written and the data behind each panel (to assert on, or to quote in a post-mortem)."""

    path: Path
    panels: list[PanelData]


def _unit_formatter(unit: str) -> FuncFormatter | PercentFormatter | None:
    if unit == "percentunit":
        return PercentFormatter(1.0, decimals=None)
    if unit == "s":
        return FuncFormatter(lambda v, _: f"{v * 1000:.0f} ms" if abs(v) < 1 else f"{v:.2f} s")
    if unit == "bytes":
        return FuncFormatter(lambda v, _: f"{v / 2**20:.0f} MiB")
    if unit in ("reqps", "ops"):
        return FuncFormatter(lambda v, _: f"{v:g}/s")
    if unit.startswith("suffix:"):
        suffix = unit.removeprefix("suffix:")
        return FuncFormatter(lambda v, _: f"{v:g}{suffix}")
    return None


def _overrides(panel: Mapping) -> tuple[dict[str, str], set[str]]:
    """(series -> series to fill down to, dashed series) from Grafana's by-name overrides."""
    fills: dict[str, str] = {}
    dashed: set[str] = set()
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") != "byName":
            continue
        for prop in override.get("properties", []):
            if prop.get("id") == "custom.fillBelowTo":
                fills[matcher["options"]] = prop["value"]
            if prop.get("id") == "custom.lineStyle" and prop.get("value", {}).get("fill") == "dash":
                dashed.add(matcher["options"])
    return fills, dashed


def _draw_panel(ax: plt.Axes, data: PanelData, start: datetime, end: datetime) -> None:
    panel = data.panel
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    fills, dashed = _overrides(panel)
    by_name: dict[str, Series] = {}
    colors: dict[str, str] = {}
    for series in data.series:
        sparse = sum(not math.isnan(v) for v in series.values) < 20  # Grafana's showPoints "auto"
        line, = ax.plot(series.times, series.values, linewidth=1.4 if series.name not in dashed else 0.9,
                        linestyle="--" if series.name in dashed else "-", label=series.name or series.ref_id,
                        marker="." if sparse else None, markersize=3)
        by_name[series.name] = series
        colors[series.name] = line.get_color()
    for upper, lower in fills.items():
        if upper in by_name and lower in by_name:
            low = dict(zip(by_name[lower].times, by_name[lower].values))
            pairs = [(t, low[t], v) for t, v in zip(by_name[upper].times, by_name[upper].values) if t in low]
            if pairs:
                times, lows, highs = zip(*pairs)
                ax.fill_between(times, lows, highs, alpha=0.18, color=colors[upper], linewidth=0)
    if defaults.get("custom", {}).get("thresholdsStyle", {}).get("mode", "off") != "off":
        for step in defaults.get("thresholds", {}).get("steps", []):
            if step.get("value") is not None:
                ax.axhline(step["value"], color=_COLORS.get(step["color"], step["color"]), linestyle=":",
                           linewidth=1.2)
    finite = [v for s in data.series for v in s.values if not math.isnan(v)]
    low, high = defaults.get("min"), defaults.get("max")
    if finite and (low is not None or high is not None):
        bottom, top = ax.get_ylim()
        if high is None:  # keep a flat line off the frame once the floor moved to `min`
            top = max(top, max(finite) + 0.1 * (abs(max(finite) - (low or 0)) or 1))
        ax.set_ylim(bottom if low is None else low, top if high is None else high + 0.02 * (abs(high) or 1))
    formatter = _unit_formatter(defaults.get("unit", ""))
    if formatter:
        ax.yaxis.set_major_formatter(formatter)
    ax.set_xlim(start, end)
    locator = mdates.AutoDateLocator(tz=timezone.utc, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=timezone.utc, show_offset=False))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.25)
    ax.set_title(panel.get("title", ""), fontsize=9, loc="left")
    if data.errors:
        ax.text(0.5, 0.5, "\n".join(data.errors)[:300], transform=ax.transAxes, ha="center", va="center",
                fontsize=7, color=_COLORS["red"], wrap=True)
    elif not any(not math.isnan(v) for s in data.series for v in s.values):
        ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", fontsize=10,
                color=_COLORS["text"])
    elif data.series:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[:8], labels[:8], fontsize=6, loc="upper left", framealpha=0.6)


def _layout(dashboard: Mapping, chosen: Sequence[PanelData], keep_rows: bool) -> tuple[list, int]:
    """[(panel, PanelData | None, x, y, w, h)] with empty vertical gaps closed, and the grid height."""
    wanted = {id(d.panel): d for d in chosen}
    items = [p for p in dashboard.get("panels", [])
             if id(p) in wanted or (keep_rows and p.get("type") == "row")]
    heights: dict[int, int] = {}
    for panel in items:
        pos = panel.get("gridPos", {})
        heights[pos.get("y", 0)] = max(heights.get(pos.get("y", 0), 0), pos.get("h", 8))
    offsets, y = {}, 0
    for top in sorted(heights):
        offsets[top] = y
        y += heights[top]
    placed = []
    for panel in items:
        pos = panel.get("gridPos", {})
        placed.append((panel, wanted.get(id(panel)), pos.get("x", 0), offsets[pos.get("y", 0)],
                       pos.get("w", GRID_COLUMNS), pos.get("h", 8)))
    return placed, y


def render_panels(dashboard: Mapping, prometheus_url: str, out: Path, *, start: datetime | None = None,
                  end: datetime | None = None, panels: Sequence[str] | None = None,
                  variables: Mapping[str, str] | None = None, scrape_interval_s: float = 15.0,
                  client: httpx.Client | None = None) -> Rendered:
    """Render a dashboard (Grafana JSON model) from live data into the PNG `out`.

    `start`/`end` default to the last hour (timezone-aware datetimes); `panels` picks panels by title
    (default: all, with row headers); `variables` overrides template variable values, e.g.
    {"route": "/orders"}. Raises `PrometheusUnreachable` when Prometheus does not answer; a query
    Prometheus rejects is drawn as an error in its panel and listed in `Rendered.panels[i].errors`.
    """
    end = end or datetime.now(timezone.utc)
    start = start or end - timedelta(hours=1)
    data = panel_data(dashboard, prometheus_url, start, end, panels=panels, variables=variables,
                      scrape_interval_s=scrape_interval_s, client=client)
    placed, grid_height = _layout(dashboard, data, keep_rows=panels is None)
    header = 0.7
    height = max(1, grid_height) * INCH_PER_ROW_UNIT + header
    figure = plt.figure(figsize=(FIGURE_WIDTH, height), dpi=100)
    figure.suptitle(f"{dashboard.get('title', '')}    {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC",
                    x=0.01, y=1 - 0.25 / height, ha="left", fontsize=12, fontweight="bold")
    for panel, panel_result, x, y, w, h in placed:
        left, width = x / GRID_COLUMNS, w / GRID_COLUMNS
        top = 1 - (header + y * INCH_PER_ROW_UNIT) / height
        box_height = h * INCH_PER_ROW_UNIT / height
        if panel_result is None:  # a row header
            figure.text(left + 0.005, top - box_height / 2, panel.get("title", ""), fontsize=11,
                        fontweight="bold", va="center")
            continue
        pad_x, pad_top, pad_bottom = 0.75 / FIGURE_WIDTH, 0.33 / height, 0.3 / height
        ax = figure.add_axes((left + pad_x, top - box_height + pad_bottom, width - pad_x - 0.006,
                              box_height - pad_top - pad_bottom))
        _draw_panel(ax, panel_result, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return Rendered(out, data)
