"""The fastest an alert can possibly fire, notify and resolve, given the configuration and the fault.

A drill's measured intervals mean little on their own: "fired after 70 s" is good or bad only next to
what the pipeline allows. The floor adds up what the configuration imposes (one scrape, one rule
evaluation, the rule's `for`, Alertmanager's `group_wait`) and, for burn-rate alerts, the time the
windows need before the injected error ratio pushes every window of the tier over its threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

_STEP_S = 0.5  # resolution of the window arithmetic


@dataclass(frozen=True)
class Timing:
    """What the live Prometheus and Alertmanager are configured with, in seconds."""

    scrape_interval_s: float
    evaluation_interval_s: float
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    group_wait_s: float = 0.0


@dataclass(frozen=True)
class BurnWindows:
    """One burn-rate tier: both windows must exceed `threshold` (an error ratio) for it to fire.

    What each window held just before the fault, as Prometheus' recording rules saw it: its
    bad-request ratio (`baseline`) and its request rate (`window_rps`, which on a young Prometheus is
    low because rate() divides a short history by the whole window). `live_rps` is the traffic the
    fault hits. Weighting by request rate keeps the arithmetic right when history and live traffic
    differ, e.g. a backfilled history at another rate than the load generator's.
    """

    windows_s: tuple[float, ...]
    threshold: float
    baseline: tuple[float, ...] = ()
    window_rps: tuple[float, ...] = ()
    live_rps: float = 1.0


@dataclass
class Floors:
    """Lower bounds in seconds for the three intervals a drill measures, with how they were made up."""

    detect_s: float
    notify_s: float
    resolve_s: float
    parts: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def window_ratio(segments: list[tuple[float, float, float]], window_s: float) -> float:
    """The bad-request ratio over the last `window_s` of a history given oldest-first as
    (length in seconds, bad share, requests per second) segments."""
    remaining, bad, seen = window_s, 0.0, 0.0
    for length, share, rps in reversed(segments):
        if remaining <= 0:
            break
        taken = min(length, remaining)
        bad += taken * share * rps
        seen += taken * rps
        remaining -= taken
    return bad / seen if seen else 0.0


def _before(tier: BurnWindows, index: int, window_s: float) -> list[tuple[float, float, float]]:
    """The window's content before the fault: its bad requests taken as the most recent ones (an
    earlier incident still in the window), the clean rest older. Only the ratio is known, not when
    the bad requests came; assuming "recent" keeps them in the window longest, so the drain floor
    is not undercut by an earlier drill's leftovers."""
    share = tier.baseline[index] if index < len(tier.baseline) else 0.0
    rps = tier.window_rps[index] if index < len(tier.window_rps) else tier.live_rps
    return [(window_s * (1 - share), 0.0, rps), (window_s * share, 1.0, rps)]


def time_to_burn(tier: BurnWindows, bad_share: float) -> float | None:
    """Seconds after a fault with `bad_share` bad requests starts until every window is over the
    threshold; None when it never gets there (the fault is too small for this tier)."""
    if bad_share <= tier.threshold:
        return None
    elapsed = 0.0
    limit = max(tier.windows_s) * 2
    while elapsed <= limit:
        if all(window_ratio([*_before(tier, i, w), (elapsed, bad_share, tier.live_rps)], w) > tier.threshold
               for i, w in enumerate(tier.windows_s)):
            return elapsed
        elapsed += _STEP_S
    return None


def time_to_drain(tier: BurnWindows, bad_share: float, fault_s: float) -> float | None:
    """Seconds after a fault of `fault_s` is cleared until some window drops to or under the
    threshold (the tier stops firing); 0 when it never got over it."""
    elapsed = 0.0
    limit = max(tier.windows_s) * 2
    while elapsed <= limit:
        if any(window_ratio([*_before(tier, i, w), (fault_s, bad_share, tier.live_rps), (elapsed, 0.0, tier.live_rps)],
                            w) <= tier.threshold for i, w in enumerate(tier.windows_s)):
            return elapsed
        elapsed += _STEP_S
    return None


def burn_floors(timing: Timing, tier: BurnWindows, bad_share: float, fault_s: float) -> Floors:
    """Floors for a burn-rate alert under a fault making `bad_share` of requests bad for `fault_s`."""
    burn = time_to_burn(tier, bad_share)
    drain = time_to_drain(tier, bad_share, fault_s)
    pipeline = timing.scrape_interval_s + timing.evaluation_interval_s
    parts = {"scrape_interval_s": timing.scrape_interval_s, "evaluation_interval_s": timing.evaluation_interval_s,
             "for_s": timing.for_s, "group_wait_s": timing.group_wait_s,
             "keep_firing_for_s": timing.keep_firing_for_s,
             "burn_arithmetic_s": burn if burn is not None else float("inf"),
             "drain_arithmetic_s": drain if drain is not None else float("inf")}
    return Floors(
        detect_s=(burn if burn is not None else float("inf")) + pipeline + timing.for_s,
        notify_s=timing.group_wait_s,
        resolve_s=(drain if drain is not None else float("inf")) + pipeline + timing.keep_firing_for_s,
        parts=parts,
    )


def outage_floors(timing: Timing) -> Floors:
    """Floors for a target-down alert: the next failed scrape, one evaluation and `for`; it resolves
    on the next good scrape and evaluation."""
    pipeline = timing.scrape_interval_s + timing.evaluation_interval_s
    return Floors(
        detect_s=pipeline + timing.for_s,
        notify_s=timing.group_wait_s,
        resolve_s=pipeline + timing.keep_firing_for_s,
        parts={"scrape_interval_s": timing.scrape_interval_s,
               "evaluation_interval_s": timing.evaluation_interval_s, "for_s": timing.for_s,
               "group_wait_s": timing.group_wait_s, "keep_firing_for_s": timing.keep_firing_for_s},
    )


def bound(floor_s: float, factor: float, margin_s: float) -> float:
    """How late an interval may be before a drill calls it late: `factor` x floor + `margin_s`.

    The margin absorbs what the floor cannot know (evaluation phase, two chained rule groups,
    polling); the factor scales with the floor so long windows are not judged to the second."""
    return floor_s * factor + margin_s
