"""Catalog lint for alerting: burn-rate tiers that would alert wrongly, or never, fail the build.

A tier alerts when both windows' error ratio exceeds factor x (1 - objective). It is wrong when:
- the factor is below 1: it fires at burn rates the budget survives (at 0.9x the window ends with
  10% of its budget left), so it pages people over a healthy SLO;
- factor x long window is longer than the SLO window: the tier fires only after the whole budget is
  gone (this includes a long window longer than the SLO window);
- factor x (1 - objective) is 1 or more: no error ratio reaches it, the tier is silently dead.
(Latency thresholds that are not bucket boundaries are rejected by the catalog model itself.)
"""

from __future__ import annotations

from bongsu.catalog import SLO, Catalog
from bongsu.errors import BongsuError


class LintError(BongsuError, ValueError):
    """The catalog parses but its alerts would be wrong; one located line per problem."""


def slo_problems(slo: SLO, where: str) -> list[str]:
    """Problems of one SLO's tiers, each located at `where` (`file: services[i].slos[j]`)."""
    found: list[str] = []
    overridden = slo.tiers is not None
    for k, tier in enumerate(slo.burn_rate_tiers):
        at = f"{where}.tiers[{k}]" if overridden else f"{where}.window"
        name = f"the {tier.windows} {tier.severity} tier"
        factor = tier.factor()
        needed = factor * slo.error_budget
        spent = tier.budget_consumed(slo.window)
        if factor < 1:
            found.append(f"{at}.factor: {name} fires at a burn of {factor:g}x, while the budget would last the "
                         f"{slo.window} window (it lasts at any burn up to 1x); use a factor of at least 1")
        elif spent > 1:
            found.append(f"{at}: {name} fires only after {spent:.0%} of the {slo.window} budget is spent "
                         f"({factor:g}x over {tier.long}); shorten its long window to at most "
                         f"{slo.window.seconds / factor / 3600:.3g}h or lower its factor")
        if needed >= 1:
            found.append(
                f"{where}.objective: {slo.objective:g} makes {name} impossible: it needs an error ratio above "
                f"{factor:g} x {slo.error_budget:.4g} = {needed:.3g}, more than every request failing; raise the "
                f"objective above {100 * (1 - 1 / factor):.4g}")
    return found


def problems(catalog: Catalog) -> list[str]:
    found: list[str] = []
    for i, service in enumerate(catalog.services):
        for j, slo in enumerate(service.slos):
            found += slo_problems(slo, f"{catalog.source}: services[{i}].slos[{j}]")
    return found


def lint(catalog: Catalog) -> None:
    """Raise LintError listing every problem, so one build run shows them all."""
    found = problems(catalog)
    if found:
        raise LintError(f"the catalog has {len(found)} alerting problem(s):\n" + "\n".join(found))
