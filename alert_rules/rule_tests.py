"""promtool unit tests for the generated rules, one file per service.

Each SLO gets synthetic traffic with a known, constant burn rate, and the expected alerts are computed
here from the tier table independently of the rule expressions:
- a ladder: for every tier, a burn just above its factor (that tier and every slower one fire) and
  just below it (it stays silent), so a tier whose threshold were off by more than ~10% fails a test;
- a slow burn above the ticket factors fires tickets and no page; a burn inside the budget fires nothing;
- 100% errors under the traffic floor fire nothing; just above the floor only tiers whose long window
  holds enough requests fire;
- errors that stopped 10 minutes ago: the 1h/5m page has reset, the slower tiers still fire.
Plus the symptom alerts: target down, and metrics absent while up.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from bongsu.catalog import SLO, TIERS, BurnRateTier, Catalog, Duration, Service

from alert_rules.rules import (
    BURN_FORMAT,
    BURN_TEMPLATE,
    METRICS_ABSENT_FOR,
    REQUESTS,
    symptom_group,
    tier_annotations,
    tier_labels,
)

STEP_MINUTES = 1  # input samples
RULE_EVAL_MINUTES = 5  # promtool evaluates the rules this often; alerts here have no `for` below it
EVAL_MINUTES = 60  # every scenario is judged after one hour of traffic
RESET_AFTER_MINUTES = 50  # the reset scenario's errors stop here
SERIES_SAMPLES = EVAL_MINUTES // STEP_MINUTES


@dataclass(frozen=True)
class Scenario:
    """Constant traffic of `rate` req/s for an hour; a `burn` multiple of the budget fails until `errors_until`."""

    name: str
    burn: float
    rate: float
    errors_until: int = EVAL_MINUTES


def _nice(value: float) -> float:
    """A burn whose printed form is unambiguous: two decimals then a 3 (x.xx3), never a rounding tie."""
    return math.floor(value * 100) / 100 + 0.003


def _overlap_burn(scenario: Scenario, window_minutes: float) -> float:
    """The burn rate Prometheus sees over the last `window_minutes` at the evaluation time."""
    start = max(0.0, EVAL_MINUTES - window_minutes)
    failing = max(0.0, min(scenario.errors_until, EVAL_MINUTES) - start)
    return scenario.burn * failing / (EVAL_MINUTES - start)


def _minutes(window: Duration) -> float:
    return window.seconds / 60


def expected_tiers(slo: SLO, scenario: Scenario) -> list[tuple[BurnRateTier, float]]:
    """The tiers that must fire, each with the long-window burn its description shows."""
    firing = []
    for tier in TIERS:
        factor = tier.factor(slo.window)
        long_burn = _overlap_burn(scenario, _minutes(tier.long))
        short_burn = _overlap_burn(scenario, _minutes(tier.short))
        seen_rate = scenario.rate * min(EVAL_MINUTES, _minutes(tier.long)) / _minutes(tier.long)
        if long_burn > factor and short_burn > factor and seen_rate >= slo.min_request_rate:
            firing.append((tier, long_burn))
    return firing


def scenarios(slo: SLO) -> list[Scenario]:
    """The traffic shapes for one SLO; shapes that are impossible at its objective are left out."""
    budget = slo.error_budget
    ceiling = 1 / budget  # the burn of 100% errors
    longest = max(_minutes(t.long) for t in TIERS)
    # Enough traffic that even the longest window's average, after one hour, clears the floor twice.
    rate = max(1.0, 2 * slo.min_request_rate * longest / EVAL_MINUTES)
    found: list[Scenario] = []
    factors = [(tier, tier.factor(slo.window)) for tier in TIERS]
    for tier, factor in factors:
        above = _nice(factor * 1.1)
        while above <= factor:
            above += 0.01
        below = _nice(factor * 0.9)
        if above < ceiling:
            found.append(Scenario(f"burn {above:g}x, just above the {tier.windows} {tier.severity} tier",
                                  above, rate))
        if 0 < below < factor:
            found.append(Scenario(f"burn {below:g}x, just below the {tier.windows} {tier.severity} tier",
                                  below, rate))
    if slo.min_request_rate > 0:
        found.append(Scenario("100% errors under the traffic floor", ceiling, slo.min_request_rate / 2))
        found.append(Scenario("100% errors just above the traffic floor: only windows with enough requests",
                              ceiling, slo.min_request_rate * 1.5))
    fastest = max(f for _, f in factors)
    shown = _nice(fastest * 1.1)
    reset_burn = shown * EVAL_MINUTES / RESET_AFTER_MINUTES
    if reset_burn < ceiling:
        found.append(Scenario(f"errors stopped {EVAL_MINUTES - RESET_AFTER_MINUTES}m ago: short windows reset",
                              reset_burn, rate, RESET_AFTER_MINUTES))
    # Never land exactly on a threshold: PromQL's `>` would make the outcome a coin toss.
    return [s for s in found if all(abs(_overlap_burn(s, _minutes(t.long)) - f) > 1e-6 for t, f in factors)]


def _labels(matchers: dict[str, str], **extra: str) -> str:
    pairs = {**matchers, **extra}
    return "{" + ", ".join(f'{key}="{value}"' for key, value in pairs.items()) + "}"


def _exact(value: float) -> float:
    """Round to a multiple of 2**-16: sums of such numbers are exact in binary floating point, so a
    counter continued from its computed end never dips below it (promtool would read a reset)."""
    return round(value * 65536) / 65536


def _counter(per_minute_until: list[tuple[float, int]]) -> str:
    """promtool expanding notation: a counter growing by `inc` per step for `steps` steps, piecewise.

    Increments must come from `_exact`; values are written with repr() so promtool reads the same doubles.
    """
    parts: list[str] = []
    value = 0.0
    for increment, steps in per_minute_until:
        if steps <= 0:
            continue
        if not parts:
            parts.append(f"{value!r}+{increment!r}x{steps}")
        else:
            # Continue from the last value: the next sample is value + increment.
            parts.append(f"{value + increment!r}+{increment!r}x{steps - 1}")
        value += increment * steps
    return " ".join(parts)


def input_series(service: Service, slo: SLO, scenario: Scenario) -> list[dict]:
    per_minute = _exact(scenario.rate * 60 * STEP_MINUTES)
    bad = _exact(per_minute * min(scenario.burn * slo.error_budget, 1.0))
    failing_steps = scenario.errors_until // STEP_MINUTES
    clean_steps = SERIES_SAMPLES - failing_steps
    bad_series = _counter([(bad, failing_steps), (0.0, clean_steps)])
    good_series = _counter([(per_minute - bad, failing_steps), (per_minute, clean_steps)])
    total_series = _counter([(per_minute, SERIES_SAMPLES)])
    sel = service.matchers
    up = {"series": "up" + _labels(sel), "values": f"1x{SERIES_SAMPLES}"}
    if slo.sli == "http_availability":
        return [up,
                {"series": f"{REQUESTS}_count" + _labels(sel, http_response_status_code="200"),
                 "values": good_series},
                {"series": f"{REQUESTS}_count" + _labels(sel, http_response_status_code="500"),
                 "values": bad_series}]
    assert slo.threshold is not None
    return [up,
            {"series": f"{REQUESTS}_bucket" + _labels(sel, le=repr(slo.threshold.seconds)), "values": good_series},
            {"series": f"{REQUESTS}_count" + _labels(sel), "values": total_series}]


@functools.lru_cache(maxsize=256)
def plan(slo: SLO) -> tuple[tuple[Scenario, tuple[tuple[BurnRateTier, float], ...]], ...]:
    """Scenarios and their expected tiers; SLOs with the same objective, window and floor share one plan."""
    return tuple((scenario, tuple(expected_tiers(slo, scenario))) for scenario in scenarios(slo))


def slo_tests(catalog: Catalog, service: Service, slo: SLO) -> list[dict]:
    alert = service.slo_alert(slo)
    # Labels and annotations per tier, computed once; each scenario only fills in the burn it shows.
    expected_for = {tier: (tier_labels(service, slo, tier), tier_annotations(catalog, service, slo, tier))
                    for tier in TIERS}
    tests = []
    shape = SLO(name="plan", sli=slo.sli, objective=slo.objective, window=slo.window,
                threshold=slo.threshold, min_request_rate=slo.min_request_rate)
    for scenario, firing in plan(shape):
        expected = []
        for tier, burn in firing:
            labels, annotations = expected_for[tier]
            shown = BURN_FORMAT % burn
            expected.append({"exp_labels": labels, "exp_annotations": {
                key: text.replace(BURN_TEMPLATE, shown) for key, text in annotations.items()}})
        severities = {tier.severity for tier, _ in firing}
        outcome = ("pages" if "page" in severities else "tickets, no page" if severities else "nothing fires")
        tests.append({
            "name": f"{alert}: {scenario.name} -> {outcome}",
            "interval": f"{STEP_MINUTES}m",
            "input_series": input_series(service, slo, scenario),
            "alert_rule_test": [{"eval_time": f"{EVAL_MINUTES}m", "alertname": alert, "exp_alerts": expected}],
        })
    return tests


def symptom_tests(catalog: Catalog, service: Service) -> list[dict]:
    group = {rule["alert"]: rule for rule in symptom_group(catalog, service)["rules"]}
    down, absent = group[service.target_down_alert], group[service.metrics_absent_alert]
    sel = service.matchers
    absent_minutes = int(_minutes(Duration.parse(METRICS_ABSENT_FOR))) + 5
    with_traffic = {"series": f"{REQUESTS}_count" + _labels(sel, http_response_status_code="200"),
                    "values": f"0+60x{absent_minutes}"}
    return [
        {"name": f"{down['alert']}: every target down for 10m",
         "interval": "1m", "input_series": [{"series": "up" + _labels(sel), "values": "1 0x10"}],
         "alert_rule_test": [
             {"eval_time": "10m", "alertname": down["alert"],
              "exp_alerts": [{"exp_labels": down["labels"], "exp_annotations": down["annotations"]}]},
             {"eval_time": "10m", "alertname": absent["alert"], "exp_alerts": []}]},
        {"name": f"{down['alert']}: a healthy target stays silent",
         "interval": "1m", "input_series": [{"series": "up" + _labels(sel), "values": "1x10"}, with_traffic],
         "alert_rule_test": [{"eval_time": "10m", "alertname": down["alert"], "exp_alerts": []}]},
        {"name": f"{absent['alert']}: up but no request metrics",
         "interval": "1m", "input_series": [{"series": "up" + _labels(sel), "values": f"1x{absent_minutes}"}],
         "alert_rule_test": [
             {"eval_time": f"{absent_minutes}m", "alertname": absent["alert"],
              "exp_alerts": [{"exp_labels": absent["labels"], "exp_annotations": absent["annotations"]}]}]},
        {"name": f"{absent['alert']}: up with request metrics stays silent",
         "interval": "1m",
         "input_series": [{"series": "up" + _labels(sel), "values": f"1x{absent_minutes}"}, with_traffic],
         "alert_rule_test": [{"eval_time": f"{absent_minutes}m", "alertname": absent["alert"],
                              "exp_alerts": []}]},
    ]


def service_tests(catalog: Catalog, service: Service, rule_file: str) -> dict:
    """A promtool test file for one service; `rule_file` is relative to the test file's folder."""
    tests = symptom_tests(catalog, service)
    for slo in service.slos:
        tests += slo_tests(catalog, service, slo)
    return {"rule_files": [rule_file], "evaluation_interval": f"{RULE_EVAL_MINUTES}m", "tests": tests}
