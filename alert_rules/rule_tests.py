"""promtool unit tests for the generated rules, one file per service.

Every SLO scenario starts with a healthy history longer than the SLO's longest alert window, so each
window sees its own share of the errors and a rule reading the wrong window gives a different answer.
Expected alerts are computed here from the tier table, with the windows' exact averages over the
synthetic per-minute traffic, independently of the rule expressions:
- a ladder: for every tier, a sustained burn just above its factor (that tier and every slower one
  fire) and just below it (it stays silent); and a sustained burn the budget survives (0.95x): nothing;
- per tier, a burst only that tier's windows can see, and the same burst stopped just longer than its
  short window ago (the short window has reset);
- 100% errors under the traffic floor fire nothing; just above it only tiers with enough requests fire;
- then, until none is left, a scenario that catches each window mutation that the tests so far would
  miss: a recording rule reading another window, or a tier reading another recording for its long or
  short window (`tests/rules/test_mutations.py` applies each to the real rules and runs promtool).
Plus the symptom alerts: target down, and metrics absent while up.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from bongsu.catalog import SLO, BurnRateTier, Catalog, Duration, Service, error_ratio_record, request_rate_record

from alert_rules.rules import (
    BURN_FORMAT,
    BURN_TEMPLATE,
    METRICS_ABSENT_FOR,
    REMAINING_FORMAT,
    REQUESTS,
    exhausted_annotations,
    exhausted_rule,
    remaining_template,
    symptom_group,
    tier_annotations,
    tier_labels,
)

STEP_MINUTES = 1  # input samples, one a minute
RULE_EVAL_MINUTES = 5  # promtool evaluates the rules this often; alerts here have no `for` below it
HEADROOM_MINUTES = 30  # history beyond the longest window
MARGIN = 0.03  # every compared value stays this far (relative) from its threshold
INSIDE_BUDGET = 0.95
OTHER_ROUTE = "/not-in-this-slo"  # traffic the route selection of an SLO with `routes` must leave out  # a burn the budget survives: the SLO window ends with 5% of it left


@dataclass(frozen=True)
class Segment:
    """`minutes` of traffic at `rate` req/s of which a `burn` multiple of the budget fails."""

    minutes: int
    rate: float
    burn: float


@dataclass(frozen=True)
class Scenario:
    name: str
    segments: tuple[Segment, ...]  # oldest first; they add up to the evaluation time


@dataclass(frozen=True)
class Shape:
    """What a plan depends on: SLOs that agree on these share one (cached) plan."""

    budget: float
    tiers: tuple[BurnRateTier, ...]
    min_rate: float


@dataclass(frozen=True)
class Mutation:
    """A wrong window: recording `kind` (ratio|rate) of `window` computed over `to`, or tier `tier`'s
    long|short clause reading the `to` recording."""

    kind: str
    window: Duration | None
    to: Duration
    tier: int | None = None

    def __str__(self) -> str:
        if self.tier is None:
            return f"{self.kind} recording {self.window} over [{self.to}]"
        return f"tier {self.tier} {self.kind} window read from the {self.to} recording"


def _exact(value: float) -> float:
    """Round to a multiple of 2**-16: sums of such numbers are exact in binary floating point, so a
    counter continued from its computed end never dips below it (promtool would read a reset)."""
    return round(value * 65536) / 65536


def _increments(segment: Segment, budget: float) -> tuple[float, float]:
    """(requests, failures) added each minute."""
    total = _exact(segment.rate * 60 * STEP_MINUTES)
    return total, _exact(total * min(segment.burn * budget, 1.0))


def _window(scenario: Scenario, budget: float, minutes: int) -> tuple[float, float]:
    """(requests, failures) in the last `minutes`, as rate() over a `[minutes]` range sees them."""
    total = bad = 0.0
    left = minutes
    for segment in reversed(scenario.segments):
        take = min(left, segment.minutes)
        inc_total, inc_bad = _increments(segment, budget)
        total += take * inc_total
        bad += take * inc_bad
        left -= take
        if not left:
            break
    return total, bad


def _minutes(window: Duration) -> int:
    return window.ms // 60_000


Sums = dict[Duration, tuple[float, float]]  # per window: (requests, failures) at the evaluation time


def _sums(shape: Shape, scenario: Scenario) -> Sums:
    return {w: _window(scenario, shape.budget, _minutes(w)) for w in _windows(shape)}


@dataclass(frozen=True)
class _Table:
    """A shape's windows by position: the plan search's inner loop indexes lists instead of hashing
    Durations (it runs hundreds of thousands of times per shape)."""

    windows: tuple[Duration, ...]
    minutes: tuple[int, ...]
    tiers: tuple[tuple[int, int, float], ...]  # per tier: long and short window positions, factor

    def at(self, mutation: Mutation) -> _At:
        where = self.windows.index
        return _At(mutation.kind, None if mutation.window is None else where(mutation.window),
                   where(mutation.to), mutation.tier)


@dataclass(frozen=True)
class _At:
    """A `Mutation` with window positions in its shape's `_Table`."""

    kind: str
    window: int | None
    to: int
    tier: int | None


@functools.lru_cache(maxsize=256)
def _table(shape: Shape) -> _Table:
    windows = tuple(_windows(shape))
    return _Table(windows, tuple(_minutes(w) for w in windows),
                  tuple((windows.index(t.long), windows.index(t.short), t.factor()) for t in shape.tiers))


Row = list[tuple[float, float]]  # `Sums` by window position


def _row(shape: Shape, table: _Table, scenario: Scenario) -> Row:
    return [_window(scenario, shape.budget, minutes) for minutes in table.minutes]


def _outcome(shape: Shape, sums: Sums, mutation: Mutation | None = None
             ) -> tuple[tuple[tuple[int, str], ...], float]:
    """Firing tiers with the burn each shows, and the smallest relative distance of any compared value
    from its threshold (a scenario too close to one would make the outcome a coin toss)."""
    table = _table(shape)
    return _row_outcome(shape, table, [sums[w] for w in table.windows],
                        None if mutation is None else table.at(mutation))


def _row_outcome(shape: Shape, table: _Table, row: Row, mutation: _At | None
                 ) -> tuple[tuple[tuple[int, str], ...], float]:
    budget = shape.budget
    burns = [None if total == 0 else bad / total / budget for total, bad in row]
    rate_window: int | None = None  # the long window whose request rate the mutation reads elsewhere
    if mutation is not None and mutation.tier is None:
        if mutation.kind == "ratio":
            assert mutation.window is not None
            burns[mutation.window] = burns[mutation.to]
        elif mutation.kind == "rate":
            rate_window = mutation.window
    firing: list[tuple[int, str]] = []
    closest = float("inf")
    for index, (long, short, factor) in enumerate(table.tiers):
        tier_long = long
        if mutation is not None and mutation.tier == index:
            long, short = (mutation.to, short) if mutation.kind == "long" else (long, mutation.to)
        burn_long, burn_short = burns[long], burns[short]
        fires = burn_long is not None and burn_long > factor and burn_short is not None and burn_short > factor
        for burn in (burn_long, burn_short):
            if burn is not None:
                closest = min(closest, abs(burn - factor) / factor)
        if shape.min_rate > 0:
            window = mutation.to if mutation is not None and rate_window == tier_long else tier_long
            rate = row[window][0] / (table.minutes[window] * 60)
            closest = min(closest, abs(rate - shape.min_rate) / shape.min_rate)
            fires = fires and rate >= shape.min_rate
        if fires:
            assert burn_long is not None
            firing.append((index, BURN_FORMAT % burn_long))
    return tuple(firing), closest


@functools.lru_cache(maxsize=256)
def _windows(shape: Shape) -> list[Duration]:
    return sorted({w for tier in shape.tiers for w in (tier.long, tier.short)})


def mutations(shape: Shape) -> list[Mutation]:
    """Every way one window could be wrong: each recording over each other window, each tier's long or
    short clause reading each other recording."""
    windows = _windows(shape)
    found = [Mutation("ratio", w, to) for w in windows for to in windows if to != w]
    if shape.min_rate > 0:
        longs = sorted({t.long for t in shape.tiers})
        found += [Mutation("rate", w, to) for w in longs for to in windows if to != w]
    for index, tier in enumerate(shape.tiers):
        found += [Mutation("long", None, to, index) for to in windows if to != tier.long]
        found += [Mutation("short", None, to, index) for to in windows if to != tier.short]
    return found


@functools.lru_cache(maxsize=256)
def _history(shape: Shape) -> int:
    """Minutes of input: the longest window plus headroom, rounded up to an evaluation."""
    longest = max(_minutes(w) for w in _windows(shape)) + HEADROOM_MINUTES
    return -(-longest // RULE_EVAL_MINUTES) * RULE_EVAL_MINUTES


def _rate(shape: Shape) -> float:
    """Healthy traffic: comfortably above the floor in every window."""
    return max(1.0, 4 * shape.min_rate)


def _burst(shape: Shape, name: str, burn: float, minutes: int, stopped: int = 0,
           rate: float | None = None, before: float | None = None) -> Scenario:
    """Healthy traffic (at `before` req/s), then `burn` for `minutes` (at `rate`), ending `stopped` ago."""
    total = _history(shape)
    steady = _rate(shape)
    segments = [Segment(total - minutes - stopped, steady if before is None else before, 0.0),
                Segment(minutes, steady if rate is None else rate, burn),
                Segment(stopped, steady, 0.0)]
    return Scenario(name, tuple(s for s in segments if s.minutes > 0))


def _possible(shape: Shape, burn: float) -> bool:
    return 0 < burn and burn * shape.budget <= 1


def _named(shape: Shape) -> Iterator[Scenario]:
    """The scenarios every plan has (when the objective allows them)."""
    total = _history(shape)
    rate = _rate(shape)
    for tier in shape.tiers:
        factor = tier.factor()
        for word, burn in (("above", factor * 1.1), ("below", factor * 0.9)):
            if _possible(shape, burn):
                yield Scenario(f"sustained burn {burn:.4g}x, just {word} the {tier.windows} {tier.severity} tier",
                               (Segment(total, rate, burn),))
    yield Scenario(f"sustained burn {INSIDE_BUDGET}x, the budget lasts the window",
                   (Segment(total, rate, INSIDE_BUDGET),))
    for index, tier in enumerate(shape.tiers):
        found = _only(shape, index)
        if found is not None:
            burn, minutes = found
            yield _burst(shape, f"burn {burn:.4g}x for {minutes}m: only the {tier.windows} {tier.severity} "
                                f"tier sees it", burn, minutes)
        reset = _reset(shape, index)
        if reset is not None:
            yield reset
    if shape.min_rate > 0:
        ceiling = 1 / shape.budget
        yield Scenario("100% errors under the traffic floor", (Segment(total, shape.min_rate / 2, ceiling),))
        yield Scenario("100% errors just above the traffic floor: only windows with enough requests",
                       (Segment(total - 60, shape.min_rate / 4, 0.0), Segment(60, shape.min_rate * 40, ceiling)))


def _reset(shape: Shape, index: int) -> Scenario | None:
    """A burst that filled tier `index`'s long window and stopped just longer than its short window ago:
    the long window is still above the factor, the short one clean, so the tier has reset."""
    tier = shape.tiers[index]
    stop = _minutes(tier.short) + 1
    minutes = _minutes(tier.long) - stop
    if minutes <= 0:
        return None
    for scale in (1.2, 1.5, 2, 3):
        burn = tier.factor() * scale * _minutes(tier.long) / minutes
        if not _possible(shape, burn):
            return None
        scenario = _burst(shape, f"burn {burn:.4g}x for {minutes}m, stopped {stop}m ago: the {tier.windows} "
                                 f"{tier.severity} tier has reset", burn, minutes, stop)
        sums = _sums(shape, scenario)
        fired, closest = _outcome(shape, sums)
        if closest > MARGIN and index not in [i for i, _ in fired]:
            return scenario
    return None


def _only(shape: Shape, index: int) -> tuple[float, int] | None:
    """A burn and duration (errors until now) that fires tier `index` and no other, with margin."""
    tier = shape.tiers[index]
    for scale in (1.1, 1.25, 1.5, 2, 3, 4, 6, 8):
        burn = tier.factor() * scale
        if not _possible(shape, burn):
            break
        for minutes in sorted({_minutes(tier.long), *(_minutes(tier.long) * k // 8 for k in range(1, 8))}):
            if minutes < _minutes(tier.short):
                continue
            fired, closest = _outcome(shape, _sums(shape, _burst(shape, "", burn, minutes)))
            if [i for i, _ in fired] == [index] and closest > MARGIN:
                return burn, minutes
    return None


def _candidates(shape: Shape) -> Iterator[Scenario]:
    """Burst shapes to search for mutation killers: bursts over, under and around every window."""
    windows = [_minutes(w) for w in _windows(shape)]
    lengths = sorted({m for w in windows for m in (w, w // 2, w // 3, w - 1, w + 1, 2 * w) if m > 0})
    stops = sorted({0, *(m for w in windows for m in (w // 2, w - 1, w + 1) if m > 0)})
    burns = sorted({t.factor() * k for t in shape.tiers for k in (1.2, 2, 4)})
    for burn, minutes, stopped in itertools.product(burns, lengths, stops):
        if _possible(shape, burn) and minutes + stopped < _history(shape):
            text = f"burn {burn:.4g}x for {minutes}m" + (f", stopped {stopped}m ago" if stopped else "")
            yield _burst(shape, text, burn, minutes, stopped)
    if shape.min_rate > 0:
        floor = shape.min_rate
        for busy, minutes, burn in itertools.product((2, 1.1), lengths, burns):
            if _possible(shape, burn) and minutes < _history(shape):
                yield _burst(shape, f"quiet service ({floor / 4:g} req/s), then burn {burn:.4g}x at "
                                    f"{floor * busy:g} req/s for {minutes}m", burn, minutes, rate=floor * busy,
                             before=floor / 4)


def _kills(shape: Shape, sums: Sums, fired: tuple[tuple[int, str], ...], mutation: Mutation) -> bool:
    """The mutated rules give other alerts (or another burn in a description), clear of any threshold."""
    table = _table(shape)
    return _row_kills(shape, table, [sums[w] for w in table.windows], fired, table.at(mutation))


def _row_kills(shape: Shape, table: _Table, row: Row, fired: tuple[tuple[int, str], ...], mutation: _At) -> bool:
    if mutation.tier is None:
        assert mutation.window is not None
        before, after = row[mutation.window], row[mutation.to]
    else:
        long, short, _ = table.tiers[mutation.tier]
        before, after = row[long if mutation.kind == "long" else short], row[mutation.to]
    if mutation.kind == "rate":
        assert mutation.window is not None
        if before[0] / table.minutes[mutation.window] == after[0] / table.minutes[mutation.to]:
            return False
    elif before[1] * after[0] == after[1] * before[0]:
        return False  # the same error ratio over both windows: this scenario cannot tell them apart
    mutated, closest = _row_outcome(shape, table, row, mutation)
    return mutated != fired and closest > 1e-3


def survivors(shape: Shape) -> list[Mutation]:
    """Mutations no scenario of the plan catches (none for any catalog tested here)."""
    chosen = [(_sums(shape, scenario), fired) for scenario, fired in plan(shape)]
    return [m for m in mutations(shape) if not any(_kills(shape, sums, o, m) for sums, o in chosen)]


@functools.lru_cache(maxsize=256)
def plan(shape: Shape) -> tuple[tuple[Scenario, tuple[tuple[int, str], ...]], ...]:
    """Scenarios and the tiers they fire (index, burn shown): the named ones, then mutation killers."""
    chosen: dict[str, tuple[Scenario, tuple[tuple[int, str], ...]]] = {}
    table = _table(shape)
    left = [table.at(m) for m in mutations(shape)]

    def keep(scenario: Scenario, row: Row, fired: tuple[tuple[int, str], ...]) -> None:
        nonlocal left
        chosen.setdefault(scenario.name, (scenario, fired))
        left = [m for m in left if not _row_kills(shape, table, row, fired, m)]

    for scenario in _named(shape):
        row = _row(shape, table, scenario)
        fired, closest = _row_outcome(shape, table, row, None)
        if closest > MARGIN:
            keep(scenario, row, fired)
    for scenario in _candidates(shape):
        if not left:
            break
        row = _row(shape, table, scenario)
        fired, closest = _row_outcome(shape, table, row, None)
        if closest <= MARGIN:
            continue
        if any(_row_kills(shape, table, row, fired, mutation) for mutation in left):
            keep(scenario, row, fired)
    return tuple(chosen.values())


def _labels(matchers: dict[str, str], **extra: str) -> str:
    pairs = {**matchers, **extra}
    return "{" + ", ".join(f'{key}="{value}"' for key, value in pairs.items()) + "}"


def _counter(increments: list[tuple[float, int]]) -> str:
    """promtool expanding notation: a counter growing by `inc` per step for `steps` steps, piecewise.

    Increments must come from `_exact`; values are written with repr() so promtool reads the same doubles.
    """
    parts: list[str] = []
    value = 0.0
    for increment, steps in increments:
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
    steps = [(_increments(s, slo.error_budget), s.minutes // STEP_MINUTES) for s in scenario.segments]
    bad_series = _counter([(bad, n) for (_, bad), n in steps])
    good_series = _counter([(total - bad, n) for (total, bad), n in steps])
    total_series = _counter([(total, n) for (total, _), n in steps])
    samples = sum(n for _, n in steps)
    up = {"series": "up" + _labels(service.matchers), "values": f"1x{samples}"}
    sel = dict(service.matchers)
    others: list[dict] = []
    if slo.routes:
        # The SLO's first route carries the scenario; a route outside the SLO fails every request, so
        # rules that ignored the route selection would see other ratios and fail every test.
        sel["http_route"] = slo.routes[0]
        others.append({"series": f"{REQUESTS}_count" + _labels(
            service.matchers, http_route=OTHER_ROUTE, http_response_status_code="500"), "values": total_series})
    up_and_others = [up, *others]
    if slo.sli == "http_availability":
        return [*up_and_others,
                {"series": f"{REQUESTS}_count" + _labels(sel, http_response_status_code="200"),
                 "values": good_series},
                {"series": f"{REQUESTS}_count" + _labels(sel, http_response_status_code="500"),
                 "values": bad_series}]
    assert slo.threshold is not None
    return [*up_and_others,
            {"series": f"{REQUESTS}_bucket" + _labels(sel, le=repr(slo.threshold.seconds)), "values": good_series},
            {"series": f"{REQUESTS}_count" + _labels(sel), "values": total_series}]


def shape(slo: SLO) -> Shape:
    return Shape(slo.error_budget, slo.burn_rate_tiers, slo.min_request_rate)


def _padded(scenario: Scenario, minutes: int) -> Scenario:
    """The same scenario with its oldest segment longer, so it ends at `minutes`: no window reaches back
    that far, so no outcome changes."""
    extra = minutes - sum(s.minutes for s in scenario.segments)
    first, *rest = scenario.segments
    return Scenario(scenario.name, (Segment(first.minutes + extra, first.rate, first.burn), *rest))


def remaining_budget(slo: SLO, scenario: Scenario) -> float:
    """What `slo:error_budget_remaining:ratio` holds at the scenario's end (a window reaching back past
    the first sample sees all of it: both rates extrapolate alike, so their ratio does not)."""
    minutes = min(_minutes(slo.window), sum(s.minutes for s in scenario.segments))
    total, bad = _window(scenario, slo.error_budget, minutes)
    return 1 - bad / total / slo.error_budget


def slo_tests(catalog: Catalog, service: Service, slo: SLO, minutes: int) -> list[dict]:
    """One SLO's scenarios, all evaluated at `minutes` (at least the plan's history)."""
    alert = service.slo_alert(slo)
    exhausted = exhausted_rule(catalog, service, slo)
    tiers = slo.burn_rate_tiers
    # Labels and annotations per tier, computed once; each scenario only fills in the values it shows.
    expected_for = [(tier_labels(service, slo, tier), tier_annotations(catalog, service, slo, tier))
                    for tier in tiers]
    template = remaining_template(service, slo)
    tests = []
    for scenario, firing in plan(shape(slo)):
        scenario = _padded(scenario, minutes)
        remaining = remaining_budget(slo, scenario)
        left = REMAINING_FORMAT % remaining
        expected = []
        for index, shown in firing:
            labels, annotations = expected_for[index]
            expected.append({"exp_labels": labels, "exp_annotations": {
                key: text.replace(BURN_TEMPLATE, shown).replace(template, left)
                for key, text in annotations.items()}})
        severities = {tiers[index].severity for index, _ in firing}
        outcome = ("pages" if "page" in severities else "tickets, no page" if severities else "nothing fires")
        spent = [{"exp_labels": exhausted["labels"],
                  "exp_annotations": exhausted_annotations(catalog, service, slo, left)}] if remaining <= 0 else []
        tests.append({
            "name": f"{alert}: {scenario.name} -> {outcome}",
            "interval": f"{STEP_MINUTES}m",
            "input_series": input_series(service, slo, scenario),
            "alert_rule_test": [{"eval_time": f"{minutes}m", "alertname": alert, "exp_alerts": expected},
                                {"eval_time": f"{minutes}m", "alertname": exhausted["alert"], "exp_alerts": spent}],
        })
    return tests


def _expected(rule: dict, extra: dict[str, str] | None = None) -> dict:
    return {"exp_labels": {**(extra or {}), **rule["labels"]}, "exp_annotations": rule["annotations"]}


def symptom_tests(catalog: Catalog, service: Service) -> list[dict]:
    rules = symptom_group(catalog, service)["rules"]
    down_name, absent_name = service.target_down_alert, service.metrics_absent_alert
    down = next(r for r in rules if r["alert"] == down_name and "cause" not in r["labels"])
    no_target = next(r for r in rules if r["alert"] == down_name and "cause" in r["labels"])
    absent = next(r for r in rules if r["alert"] == absent_name and "slo" not in r["labels"])
    buckets = {r["labels"]["slo"]: r for r in rules if r["alert"] == absent_name and "slo" in r["labels"]}
    sel = service.matchers
    absent_minutes = _minutes(Duration.parse(METRICS_ABSENT_FOR)) + 5
    counting = {"series": f"{REQUESTS}_count" + _labels(sel, http_response_status_code="200"),
                "values": f"0+60x{absent_minutes}"}

    def bucket(seconds: float) -> dict:
        le = "+Inf" if math.isinf(seconds) else repr(seconds)
        return {"series": f"{REQUESTS}_bucket" + _labels(sel, http_response_status_code="200", le=le),
                "values": f"0+60x{absent_minutes}"}

    thresholds = {slo.name: slo.threshold.seconds for slo in service.slos if slo.threshold is not None}
    with_traffic = [counting, *(bucket(seconds) for seconds in sorted(set(thresholds.values())))]
    up = {"series": "up" + _labels(sel), "values": f"1x{absent_minutes}"}
    tests = [
        {"name": f"{down_name}: every target down for 10m",
         "interval": "1m", "input_series": [{"series": "up" + _labels(sel), "values": "1 0x10"}],
         "alert_rule_test": [
             {"eval_time": "10m", "alertname": down_name, "exp_alerts": [_expected(down)]},
             {"eval_time": "10m", "alertname": absent_name, "exp_alerts": []}]},
        {"name": f"{down_name}: a healthy target stays silent",
         "interval": "1m", "input_series": [{"series": "up" + _labels(sel), "values": "1x10"}, *with_traffic],
         "alert_rule_test": [{"eval_time": "10m", "alertname": down_name, "exp_alerts": []}]},
        {"name": f"{down_name}: no target discovered at all (no up series)",
         "interval": "1m", "input_series": [{"series": 'up{job="some-other-job"}', "values": "1x10"}],
         "alert_rule_test": [{"eval_time": "10m", "alertname": down_name,
                              "exp_alerts": [_expected(no_target, sel)]}]},
        {"name": f"{absent_name}: up but no request metrics",
         "interval": "1m", "input_series": [up],
         "alert_rule_test": [
             {"eval_time": f"{absent_minutes}m", "alertname": absent_name, "exp_alerts": [_expected(absent)]}]},
        {"name": f"{absent_name}: up with request metrics and every threshold bucket stays silent",
         "interval": "1m", "input_series": [up, *with_traffic],
         "alert_rule_test": [{"eval_time": f"{absent_minutes}m", "alertname": absent_name, "exp_alerts": []}]},
    ]
    for name in buckets:
        others = sorted({seconds for other, seconds in thresholds.items() if seconds != thresholds[name]})
        # Every request slower than any bucket but the +Inf one: the threshold bucket is simply not there.
        tests.append({
            "name": f"{absent_name}: the {name} SLO's threshold bucket is not exported",
            "interval": "1m", "input_series": [up, counting, bucket(float("inf")), *map(bucket, others)],
            "alert_rule_test": [{"eval_time": f"{absent_minutes}m", "alertname": absent_name,
                                 "exp_alerts": [_expected(buckets[n]) for n in buckets
                                                if thresholds[n] == thresholds[name]]}]})
    return tests


def service_tests(catalog: Catalog, service: Service, rule_file: str) -> dict:
    """The promtool test file for one service's symptom alerts; `rule_file` is relative to its folder."""
    return {"rule_files": [rule_file], "evaluation_interval": f"{RULE_EVAL_MINUTES}m",
            "tests": symptom_tests(catalog, service)}


def recordings_scenario(shape: Shape) -> Scenario:
    """Traffic and errors that grow, band by band, towards the evaluation time, so every recorded window
    has its own request rate and error ratio: a recording over the wrong window shows another value."""
    windows = [_minutes(w) for w in _windows(shape)]
    bands = len(windows)
    ceiling = 1 / shape.budget
    segments = [Segment(_history(shape) - windows[-1], _rate(shape), 0.0)]
    for i, (older, newer) in enumerate(zip(reversed(windows), [*reversed(windows[:-1]), 0])):
        step = i + 1  # 1 for the oldest band, `bands` for the newest
        segments.append(Segment(older - newer, _rate(shape) * step, min(ceiling, ceiling * step / (bands + 1))))
    return Scenario("traffic and errors growing towards now: every recording over its own window", tuple(segments))


def _rounded_check(record: str, labels: str, value: float, minutes: int) -> dict:
    """A promql_expr_test of `record` to nine significant digits: promtool 2.42 compares exactly, and the
    last bit of a rate() is not worth predicting; a wrong window is off by far more."""
    scale = 10 ** (8 - math.floor(math.log10(abs(value)))) if value else 1
    while abs((value * scale) % 1 - 0.5) < 1e-3:  # never round a tie
        scale /= 10
    return {"expr": f"round({record}{labels} * {scale:g})", "eval_time": f"{minutes}m",
            "exp_samples": [{"labels": labels, "value": round(value * scale)}]}


def recording_tests(service: Service, slo: SLO, minutes: int) -> dict:
    """Every recording's value in `recordings_scenario`."""
    spec = shape(slo)
    scenario = _padded(recordings_scenario(spec), minutes)
    labels = f'{{service="{service.name}", slo="{slo.name}"}}'
    checks = []
    for window in _windows(spec):
        total, bad = _window(scenario, spec.budget, _minutes(window))
        seconds = _minutes(window) * 60
        checks.append(_rounded_check(error_ratio_record(window), labels, bad / total, minutes))
        checks.append(_rounded_check(request_rate_record(window), labels, total / seconds, minutes))
    return {"name": f"{service.slo_alert(slo)}: {scenario.name}", "interval": f"{STEP_MINUTES}m",
            "input_series": input_series(service, slo, scenario), "promql_expr_test": checks}


def slo_test_file(catalog: Catalog, service: Service, rule_file: str) -> dict | None:
    """The promtool test file for one service's SLO alerts (None without SLOs).

    Every scenario ends at the same minute, the longest history any of its SLOs needs, and the rules
    are evaluated only there: the SLO alerts have no `for`, so the last evaluation decides, and one
    evaluation instead of one every 5 minutes over days of history keeps promtool fast.
    """
    if not service.slos:
        return None
    minutes = max(_history(shape(slo)) for slo in service.slos)
    tests = [test for slo in service.slos
             for test in [recording_tests(service, slo, minutes), *slo_tests(catalog, service, slo, minutes)]]
    return {"rule_files": [rule_file], "evaluation_interval": f"{minutes}m", "tests": tests}
