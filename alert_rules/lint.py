"""Catalog lint for alerting: SLOs whose burn-rate tiers could never fire fail the build.

A tier alerts when the error ratio exceeds factor x (1 - objective). When that product is 1 or more,
no error ratio can reach it and the tier is silently dead; when the tier's long window is longer than
the SLO window, its budget arithmetic is meaningless. (Latency thresholds that are not bucket
boundaries are rejected by the catalog model itself.)
"""

from __future__ import annotations

from bongsu.catalog import TIERS, Catalog
from bongsu.errors import BongsuError


class LintError(BongsuError, ValueError):
    """The catalog parses but its alerts would be wrong; one located line per problem."""


def problems(catalog: Catalog) -> list[str]:
    found: list[str] = []
    for i, service in enumerate(catalog.services):
        for j, slo in enumerate(service.slos):
            where = f"{catalog.source}: services[{i}].slos[{j}]"
            for tier in TIERS:
                factor = tier.factor(slo.window)
                needed = factor * slo.error_budget
                if tier.long > slo.window:
                    found.append(f"{where}.window: {slo.window} is shorter than the {tier.windows} "
                                 f"{tier.severity} tier's long window; use a window of at least {tier.long}")
                elif needed >= 1:
                    found.append(
                        f"{where}.objective: {slo.objective:g} makes the {tier.windows} {tier.severity} tier "
                        f"impossible: it needs an error ratio above {factor:g} x {slo.error_budget:.4g} = "
                        f"{needed:.3g}, more than every request failing; raise the objective above "
                        f"{100 * (1 - 1 / factor):.4g}")
    return found


def lint(catalog: Catalog) -> None:
    """Raise LintError listing every problem, so one build run shows them all."""
    found = problems(catalog)
    if found:
        raise LintError(f"the catalog has {len(found)} alerting problem(s):\n" + "\n".join(found))
