"""Grafana dashboards built in code with grafanalib from the catalog, with every query checked.

Owns: the generated dashboards (per-service RED and SLO, overview, A/B experiments, self-health), the
hand-written ones in `dashboards/handwritten/`, Grafana provisioning files, `bongsu check`'s dashboard
validation, `bongsu dashboards push` (Grafana HTTP API) and `preview` (matplotlib PNGs from live
Prometheus data). `render_panels` is the renderer other parts reuse (see docs/contracts.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboards.boards import boards, to_json
from dashboards.panel_data import PanelData, PrometheusUnreachable, Series, panel_data
from dashboards.panels import Board
from dashboards.push import PushError, Pushed, push

if TYPE_CHECKING:
    from dashboards.render import Rendered, render_panels

__all__ = [
    "Board", "PanelData", "PrometheusUnreachable", "PushError", "Pushed", "Rendered", "Series", "boards",
    "panel_data", "push", "render_panels", "to_json",
]


def __getattr__(name: str) -> Any:
    """The renderer (matplotlib) is imported on first use: `bongsu build` never draws."""
    if name in ("Rendered", "render_panels"):
        from dashboards import render

        return getattr(render, name)
    raise AttributeError(f"module 'dashboards' has no attribute {name!r}")
