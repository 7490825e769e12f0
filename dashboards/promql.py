"""Grafana's PromQL as Prometheus sees it: variables filled in, parsed, and the metric names it reads.

`bongsu check` and the preview both need the query Grafana would send, not the template with `$route`
and `$__rate_interval` in it; doing that in one place keeps the check honest about what runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import promql_parser

from bongsu.catalog import Duration

_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<args>.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Interval:
    """What Grafana fills into its built-in variables for one panel refresh."""

    step_s: float
    range_s: float
    scrape_interval_s: float = 15.0

    @property
    def rate_interval_s(self) -> float:
        """Grafana's `$__rate_interval`: max(step + scrape interval, 4 x scrape interval)."""
        return max(self.step_s + self.scrape_interval_s, 4 * self.scrape_interval_s)


def _duration(seconds: float) -> str:
    return str(Duration(max(1000, round(seconds) * 1000)))


def variable_values(dashboard: Mapping) -> dict[str, str]:
    """Each template variable's current value as Grafana substitutes it into a Prometheus query."""
    values: dict[str, str] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        current = (variable.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if len(current) == 1 else "(" + "|".join(current) + ")"
        if current in (None, "$__all", "All") and variable.get("includeAll"):
            current = variable.get("allValue") or ".*"
        values[variable["name"]] = "" if current is None else str(current)
    return values


def expand(expr: str, values: Mapping[str, str], interval: Interval) -> str:
    """Fill in dashboard variables and Grafana's built-ins; unknown variables raise KeyError."""
    builtins = {
        "__rate_interval": _duration(interval.rate_interval_s),
        "__interval": _duration(interval.step_s),
        "__range": _duration(interval.range_s),
        "__range_s": str(round(interval.range_s)),
        "__interval_ms": str(round(interval.step_s * 1000)),
    }

    def fill(match: re.Match) -> str:
        name = next(group for group in match.groups() if group)
        if name in builtins:
            return builtins[name]
        if name not in values:
            raise KeyError(f"${name} is not a variable of this dashboard")
        return values[name]

    return _VARIABLE.sub(fill, expr)


def metric_names(expr: str) -> set[str]:
    """Every metric a PromQL expression reads; raises ValueError (the parser's message) if it is invalid."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def variable_query_metrics(query: str) -> set[str]:
    """Metrics a `label_values(<series selector>, label)` variable query reads (none for other kinds)."""
    match = _LABEL_VALUES.match(query or "")
    if not match:
        return set()
    selector = match.group("args").rsplit(",", 1)[0] if "," in match.group("args") else ""
    return metric_names(selector) if selector.strip() else set()


def panel_queries(dashboard: Mapping) -> Iterator[tuple[dict, dict]]:
    """(panel, target) for every query of every panel, rows' nested panels included."""
    for panel in dashboard.get("panels", []):
        for nested in [panel, *panel.get("panels", [])]:
            for target in nested.get("targets", []):
                if target.get("expr"):
                    yield nested, target
