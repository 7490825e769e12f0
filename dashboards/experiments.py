"""The A/B experiment dashboard: exposures and conversion per variant, with the uncertainty drawn.

Conversion rates are over a trailing window (the `window` variable). Each variant's rate carries a 95%
Wilson score interval, and each variant's difference to the control (the first variant in the catalog)
a 95% normal-approximation interval, both computed in PromQL so Grafana and the preview agree.
"""

from __future__ import annotations

from bongsu import conventions
from bongsu.catalog import OVERVIEW_DASHBOARD_UID, Catalog, Experiment

from dashboards.panels import Board, Query, board, choice_variable, dashboard, link, timeseries

EXPOSURES = conventions.EXPERIMENT_EXPOSURES
CONVERSIONS = conventions.EXPERIMENT_CONVERSIONS
Z = 1.96  # two-sided 95%
WINDOWS = ("15m", "1h", "6h", "1d")


class _Counts:
    """PromQL for one experiment's counts over `$window`, optionally narrowed by a variant matcher."""

    def __init__(self, experiment: Experiment, selector: str, variant: str = "") -> None:
        matchers = f'{selector},experiment="{experiment.name}"' + (f",{variant}" if variant else "")
        self.n = f"sum by (variant) (increase({EXPOSURES}{{{matchers}}}[$window]))"
        self.x = f"sum by (variant) (increase({CONVERSIONS}{{{matchers}}}[$window]))"
        # increase() extrapolates, so the ratio can overshoot 1 by a hair; a probability cannot.
        self.p = f"clamp_max({self.x} / {self.n}, 1)"

    def wilson(self, sign: str) -> str:
        p, n = f"({self.p})", f"({self.n})"
        z2 = Z * Z
        return (f"({p} + {z2 / 2:g} / {n} {sign} {Z:g} * sqrt({p} * (1 - {p}) / {n} + {z2 / 4:g} / ({n} ^ 2)))"
                f" / (1 + {z2:g} / {n})")

    def variance(self) -> str:
        p, n = f"({self.p})", f"({self.n})"
        return f"{p} * (1 - {p}) / {n}"


def _lift(treated: _Counts, control: _Counts, sign: str = "") -> str:
    diff = f"({treated.p}) - ignoring(variant) group_left() ({control.p})"
    if not sign:
        return diff
    spread = f"{Z:g} * sqrt({treated.variance()} + ignoring(variant) group_left() ({control.variance()}))"
    return f"({diff}) {sign} {spread}"


def _bands(variants: list[str], low: str, high: str) -> list[dict]:
    """Grafana overrides that shade between each variant's low and high series, dashed bounds."""
    overrides = []
    for variant in variants:
        overrides.append({
            "matcher": {"id": "byName", "options": high.replace("{{variant}}", variant)},
            "properties": [{"id": "custom.fillBelowTo", "value": low.replace("{{variant}}", variant)},
                           {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [4, 4]}}],
        })
        overrides.append({
            "matcher": {"id": "byName", "options": low.replace("{{variant}}", variant)},
            "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [4, 4]}}],
        })
    return overrides


def experiment_board(catalog: Catalog, experiment: Experiment) -> Board:
    service = catalog.service(experiment.service)
    selector = service.promql_selector
    every = _Counts(experiment, selector)
    control_name, *treatments = experiment.variants
    control = _Counts(experiment, selector, f'variant="{control_name}"')
    treated = _Counts(experiment, selector, f'variant!="{control_name}"')
    low, high = "{{variant}} 95% low", "{{variant}} 95% high"
    rate = timeseries(
        "Conversion rate per variant (95% Wilson interval)",
        [Query(every.p, "{{variant}}"), Query(every.wilson("-"), low), Query(every.wilson("+"), high)],
        "percentunit", minimum=0, overrides=_bands(experiment.variants, low, high),
        description="Conversions / exposures over the trailing window. Where two bands overlap, the data "
                    "cannot yet tell the variants apart.")
    lift = timeseries(
        f"Difference to {control_name} (95% normal approximation)",
        [Query(_lift(treated, control), "{{variant}}"), Query(_lift(treated, control, "-"), low),
         Query(_lift(treated, control, "+"), high)],
        "percentunit", thresholds=[("green", None), ("text", 0.0)], overrides=_bands(treatments, low, high),
        description=f"Conversion rate minus {control_name}'s. A band that does not cross 0 is a significant "
                    "difference at 95% (one look; repeated peeking inflates false positives).")
    rows = [
        ("Traffic", [
            timeseries("Exposures per second", [Query(
                f'sum by (variant) (rate({EXPOSURES}{{{selector},experiment="{experiment.name}"}}'
                "[$__rate_interval]))", "{{variant}}")], "ops", minimum=0,
                description="Users shown each variant; the split should match the allocation."),
            timeseries("Exposures in window (sample size)", [Query(every.n, "{{variant}}")], "short", minimum=0,
                       description="Exposures over the trailing window: the n behind the intervals."),
            timeseries("Conversions per second", [Query(
                f'sum by (variant) (rate({CONVERSIONS}{{{selector},experiment="{experiment.name}"}}'
                "[$__rate_interval]))", "{{variant}}")], "ops", minimum=0),
        ]),
        ("Outcome", [rate, lift]),
    ]
    dash = dashboard(
        f"Experiment: {experiment.name}", experiment.dashboard_uid, rows,
        description=f"A/B test {experiment.name} on {service.name}: variants {', '.join(experiment.variants)}.",
        variables=[choice_variable("window", list(WINDOWS), "Window", default="1h")],
        links=[link(f"{service.name}: RED", service.red_dashboard_uid), link("Overview", OVERVIEW_DASHBOARD_UID)],
        tags=["experiment", f"service:{service.name}", f"team:{service.team}"],
    )
    team = catalog.team(service.team)
    return board(dash, team.folder_uid, team.name)
