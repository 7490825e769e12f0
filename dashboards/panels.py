"""Building blocks every Bongsu dashboard shares: the data source, variables, panels, grid and links.

Kept in one place so that every dashboard looks and behaves the same in Grafana and in the preview:
one Prometheus data source variable, time-series panels only, units and threshold lines set, rows laid
out on Grafana's 24-column grid.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import attr
from grafanalib.core import (
    Annotations,
    Dashboard,
    DashboardLink,
    GridPos,
    RowPanel,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

# The provisioned Prometheus data source (see provisioning.py); the `datasource` variable defaults to it.
DATASOURCE_UID = "bongsu-prometheus"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
PANEL_HEIGHT = 8
TAG = "bongsu"
INCIDENT_NOTE = "Shows data only while something is wrong (errors, drops, firing alerts); empty is good."


@attr.s
class IncidentPanel(TimeSeries):
    """A time-series panel that is expected to be empty while all is well (declared, not guessed)."""


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and the legend Grafana draws for each series (`{{label}}`)."""

    expr: str
    legend: str = ""


class Placed(Protocol):
    """What the provisioning files need of a dashboard: its UID, title and folder."""

    @property
    def uid(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def folder_uid(self) -> str: ...
    @property
    def folder_title(self) -> str: ...


@dataclass(frozen=True)
class Placement:
    """A dashboard already written as JSON text, by where it goes (a `Placed` without the model)."""

    uid: str
    title: str
    folder_uid: str
    folder_title: str


@dataclass(frozen=True)
class Board:
    """One dashboard and the Grafana folder it belongs in (a team's folder or the platform folder)."""

    dashboard: Dashboard
    folder_uid: str
    folder_title: str
    incident_only: frozenset[str] = field(default_factory=frozenset)

    @property
    def uid(self) -> str:
        return self.dashboard.uid

    @property
    def title(self) -> str:
        return self.dashboard.title


def datasource_variable() -> Template:
    return Template(name="datasource", label="Data source", query="prometheus", type="datasource",
                    default=DATASOURCE_UID)


def fixed_variable(name: str, value: str, label: str) -> Template:
    """A one-value variable: shows what the dashboard is about and is passed on by links."""
    return Template(name=name, label=label, query=value, type="custom", default=value)


def choice_variable(name: str, values: Sequence[str], label: str, default: str | None = None,
                    include_all: bool = False) -> Template:
    """A drop-down of fixed values from the catalog; "All" means the regex `.*`."""
    template = Template(name=name, label=label, query=",".join(values), type="custom",
                        default=default or ("$__all" if include_all else values[0]),
                        includeAll=include_all, multi=include_all, allValue=".*" if include_all else None)
    if include_all and default is None:
        template._current = {"selected": True, "text": "All", "value": "$__all"}  # noqa: SLF001 - grafanalib has no public way to preselect "All"
    return template


def query_variable(name: str, query: str, label: str) -> Template:
    """Values read from Prometheus (`label_values(...)`), multi-select with "All" as `.*`."""
    template = Template(name=name, label=label, query=query, dataSource=DATASOURCE, type="query",
                        includeAll=True, multi=True, allValue=".*", default="$__all", refresh=2)
    template._current = {"selected": True, "text": "All", "value": "$__all"}  # noqa: SLF001 - as above
    return template


def timeseries(title: str, queries: Sequence[Query], unit: str, *, description: str = "",
               thresholds: Sequence[tuple[str, float | None]] = (), minimum: float | None = None,
               maximum: float | None = None, incident_only: bool = False,
               overrides: Sequence[dict] = ()) -> TimeSeries:
    """A time-series panel; `thresholds` are (color, from-value) steps drawn as lines."""
    targets = [Target(expr=q.expr, legendFormat=q.legend, refId=chr(ord("A") + i), datasource=DATASOURCE,
                      intervalFactor=1)
               for i, q in enumerate(queries)]
    steps = [{"color": color, "value": value} for color, value in thresholds] or [
        {"color": "green", "value": None}]
    defaults: dict = {}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    cls = IncidentPanel if incident_only else TimeSeries
    text = " ".join(part for part in (description, INCIDENT_NOTE if incident_only else "") if part)
    return cls(
        title=title, description=text or None, dataSource=DATASOURCE, targets=targets, unit=unit,
        thresholds=steps, thresholdsStyleMode="line" if thresholds else "off",
        legendDisplayMode="list", legendPlacement="bottom", tooltipMode="multi", lineWidth=2,
        fillOpacity=10, showPoints="never", overrides=list(overrides), maxDataPoints=500,
        extraJson={"fieldConfig": {"defaults": defaults}} if defaults else None,
    )


def grid(rows: Sequence[tuple[str | None, Sequence[TimeSeries]]], height: int = PANEL_HEIGHT) -> list:
    """Lay rows of panels out on Grafana's 24-column grid; a titled row gets a row header first.

    Panels are numbered 1, 2, ... in order as they are placed (as grafanalib's auto_panel_ids would).
    Each placed panel is a shallow copy: attrs' evolve re-runs every validator, which at 1,000 services
    was a third of the dashboards' build time."""
    placed: list = []
    y = 0
    for title, panels in rows:
        if title:
            placed.append(RowPanel(title=title, gridPos=GridPos(h=1, w=GRID_COLUMNS, x=0, y=y),
                                   id=len(placed) + 1))
            y += 1
        if not panels:
            continue
        for index, panel in enumerate(panels):  # equal widths, the remainder spread over the row
            x = GRID_COLUMNS * index // len(panels)
            w = GRID_COLUMNS * (index + 1) // len(panels) - x
            copy = _copy.copy(panel)
            copy.gridPos = GridPos(h=height, w=w, x=x, y=y)
            copy.id = panel.id or len(placed) + 1
            placed.append(copy)
        y += height
    return placed


def link(title: str, uid: str, *, include_vars: bool = False) -> DashboardLink:
    """A link to another Bongsu dashboard by its stable UID (Grafana's `/d/<uid>` URL)."""
    return DashboardLink(type="link", title=title, uri=f"/d/{uid}", keepTime=True, includeVars=include_vars,
                         icon="dashboard", tooltip=title)


def team_dashboards(team: str) -> DashboardLink:
    """A dropdown of a team's dashboards: every generated board carries a `team:<name>` tag."""
    return DashboardLink(type="dashboards", title=f"Team {team}", tags=[f"team:{team}"], asDropdown=True,
                         keepTime=True, includeVars=False)


def alerts_annotation(alertnames: Sequence[str]) -> dict:
    """Marks on every panel while one of these alerts fires (from Prometheus' ALERTS series)."""
    return {
        "name": "Firing alerts", "enable": True, "datasource": DATASOURCE, "iconColor": "red",
        "expr": f'ALERTS{{alertstate="firing",alertname=~"{"|".join(sorted(alertnames))}"}}',
        "step": "30s", "titleFormat": "{{alertname}}", "tagKeys": "severity,service,slo",
        "useValueForTime": False,
    }


# A build shows up as a new `bongsu_build_info` label set: mark the minute it first appears.
DEPLOY_EXPR = ("max by (job, version, revision) (bongsu_build_info) unless "
               "max by (job, version, revision) (bongsu_build_info offset 1m)")


def deploys_annotation() -> dict:
    """Marks on every panel where a service started running a new build (from `bongsu_build_info`)."""
    return {
        "name": "Deploys", "enable": True, "datasource": DATASOURCE, "iconColor": "blue",
        "expr": DEPLOY_EXPR, "step": "30s", "titleFormat": "deployed {{job}} {{version}}",
        "textFormat": "commit {{revision}}", "tagKeys": "job,version", "useValueForTime": False,
    }


def dashboard(title: str, uid: str, rows: Sequence[tuple[str | None, Sequence[TimeSeries]]], *,
              description: str, variables: Sequence[Template], links: Sequence[DashboardLink],
              alertnames: Sequence[str] = (), tags: Sequence[str] = (), since: str = "now-1h") -> Dashboard:
    annotations = [{
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
        "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
    }]
    if alertnames:
        annotations.append(alerts_annotation(alertnames))
    annotations.append(deploys_annotation())
    browse = DashboardLink(type="dashboards", title="Bongsu", tags=[TAG], asDropdown=True, keepTime=True)
    return Dashboard(
        title=title, uid=uid, description=description, tags=[TAG, *tags], timezone="utc",
        panels=grid(rows), templating=Templating(list=[datasource_variable(), *variables]),
        annotations=Annotations(list=annotations), links=[*links, browse], time=Time(since, "now"),
        refresh="30s", schemaVersion=36, graphTooltip=1, editable=True,
    )


def board(dash: Dashboard, folder_uid: str, folder_title: str) -> Board:
    """Wrap a dashboard with its folder, collecting the panels declared incident-only."""
    quiet = frozenset(p.title for p in dash.panels if isinstance(p, IncidentPanel))
    return Board(dash, folder_uid, folder_title, quiet)
