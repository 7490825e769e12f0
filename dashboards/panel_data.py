"""Run a dashboard's panel queries against a live Prometheus, the way Grafana would.

Variables and Grafana's built-ins are filled in (promql.py), then each query goes to `query_range`.
The preview draws the result; the end-to-end test asserts on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
import yaml

from bongsu.catalog import Duration
from bongsu.errors import PrerequisiteMissing

from dashboards.promql import Interval, expand, panel_queries, variable_values

_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
MAX_POINTS = 500  # Grafana's default maxDataPoints for a panel


class PrometheusUnreachable(PrerequisiteMissing):
    """The Prometheus URL does not answer; the message says which URL and what to do."""


@dataclass(frozen=True)
class Series:
    ref_id: str
    name: str
    labels: dict[str, str]
    times: list[datetime]
    values: list[float]


@dataclass
class PanelData:
    """One panel's query results; `errors` holds what Prometheus refused, per query."""

    panel: dict
    series: list[Series] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.panel.get("title", "")

    def empty_queries(self) -> list[str]:
        """refIds of queries that returned no series (or only NaN)."""
        with_data = {s.ref_id for s in self.series if any(not math.isnan(v) for v in s.values)}
        return [t["refId"] for t in self.panel.get("targets", []) if t.get("expr") and t["refId"] not in with_data]


def legend(template: str, labels: Mapping[str, str]) -> str:
    """Grafana's legend format: `{{label}}` replaced by the series' label value."""
    if not template:
        name = labels.get("__name__", "")
        rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
        return f"{name}{{{rest}}}" if rest or not name else name
    return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template).strip()


def scrape_interval(prometheus_url: str, client: httpx.Client | None = None) -> float:
    """The global scrape interval from Prometheus' running config (Grafana's `timeInterval`), in seconds."""
    http = client or httpx.Client(timeout=10)
    try:
        response = http.get(f"{prometheus_url.rstrip('/')}/api/v1/status/config")
        response.raise_for_status()
        text = yaml.safe_load(response.json()["data"]["yaml"])["global"]["scrape_interval"]
    except httpx.HTTPError as exc:
        raise PrometheusUnreachable(f"cannot reach Prometheus at {prometheus_url}: {exc}; start one "
                                    "(`bongsu up`) or pass --prometheus-url") from None
    finally:
        if client is None:
            http.close()
    return Duration.parse(text).seconds


def _to_float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else math.nan


def query_range(client: httpx.Client, prometheus_url: str, expr: str, start: float, end: float,
                step: float) -> list[dict]:
    """Prometheus' `query_range` result list; raises ValueError with Prometheus' own error text."""
    try:
        response = client.post(f"{prometheus_url.rstrip('/')}/api/v1/query_range",
                               data={"query": expr, "start": start, "end": end, "step": step})
    except httpx.HTTPError as exc:
        raise PrometheusUnreachable(f"cannot reach Prometheus at {prometheus_url}: {exc}") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or body.get("status") != "success":
        raise ValueError(body.get("error") or f"HTTP {response.status_code}")
    return body["data"]["result"]


def panel_data(dashboard: Mapping, prometheus_url: str, start: datetime, end: datetime, *,
               panels: Sequence[str] | None = None, variables: Mapping[str, str] | None = None,
               scrape_interval_s: float = 15.0, client: httpx.Client | None = None) -> list[PanelData]:
    """Query every time-series panel (or those titled in `panels`) over [start, end].

    Raises ValueError naming the dashboard's titles when `panels` names one it does not have.
    """
    if panels is not None:
        titles = {p.get("title") for p in dashboard.get("panels", []) if p.get("type") != "row"}
        unknown = sorted(set(panels) - titles)
        if unknown:
            raise ValueError(f"dashboard {dashboard.get('uid')!r} has no panel titled "
                             f"{', '.join(map(repr, unknown))}; its panels: {', '.join(sorted(titles))}")
    span = max(1.0, (end - start).total_seconds())
    step = max(scrape_interval_s, math.ceil(span / MAX_POINTS))
    interval = Interval(step_s=step, range_s=span, scrape_interval_s=scrape_interval_s)
    values = {**variable_values(dashboard), **(variables or {})}
    http = client or httpx.Client(timeout=30)
    results: dict[int, PanelData] = {}
    try:
        for panel, target in panel_queries(dashboard):
            if panels is not None and panel.get("title") not in panels:
                continue
            data = results.setdefault(id(panel), PanelData(panel))
            try:
                raw = query_range(http, prometheus_url, expand(target["expr"], values, interval),
                                  start.timestamp(), end.timestamp(), step)
            except (ValueError, KeyError) as exc:
                data.errors.append(f"query {target.get('refId')}: {exc}")
                continue
            for item in raw:
                data.series.append(Series(
                    ref_id=target["refId"], name=legend(target.get("legendFormat", ""), item["metric"]),
                    labels=item["metric"],
                    times=[datetime.fromtimestamp(float(t), tz=timezone.utc) for t, _ in item["values"]],
                    values=[_to_float(v) for _, v in item["values"]]))
    finally:
        if client is None:
            http.close()
    return list(results.values())
