"""Which build of a service ran when, read from `bongsu_build_info{version, revision, package}` in Prometheus.

The SDK exposes the info metric (value 1, labels naming the running build); a deploy shows as its
labels changing. Both the page's deploy note and `bongsu rollback` read the history from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from bongsu import conventions

BUILD_INFO = conventions.BUILD_INFO


@dataclass(frozen=True)
class Seen:
    version: str
    revision: str
    package: str
    first: float  # first sample in the looked-at range (epoch seconds)
    last: float

    @property
    def short(self) -> str:
        return self.revision[:7] if self.revision and self.revision != "unknown" else "unknown"


@dataclass(frozen=True)
class DeployHistory:
    current: Seen | None
    previous: Seen | None

    @property
    def deployed_at(self) -> float | None:
        """When the current build first showed, if another build ran before it in the range."""
        return self.current.first if self.current and self.previous else None


def history(prometheus_url: str, selector: str, until: float | None = None, lookback_s: float = 3600,
            step_s: float = 5, timeout: float = 5.0) -> DeployHistory:
    """Builds of the service selected by `selector` (e.g. `job="payments"`) seen in the lookback."""
    end = until or time.time()
    response = httpx.get(f"{prometheus_url.rstrip('/')}/api/v1/query_range", timeout=timeout, params={
        "query": f"max by (version, revision, package) ({BUILD_INFO}{{{selector}}})",
        "start": end - lookback_s, "end": end, "step": step_s})
    response.raise_for_status()
    builds: dict[tuple[str, str, str], set[float]] = {}
    for series in response.json()["data"]["result"]:
        labels = series["metric"]
        key = (labels.get("version", "unknown"), labels.get("revision", "unknown"), labels.get("package", "unknown"))
        builds.setdefault(key, set()).update(float(t) for t, _ in series["values"])
    return _from_samples(builds)


def _from_samples(builds: dict[tuple[str, str, str], set[float]]) -> DeployHistory:
    """The current build's latest unbroken run and the build that ran just before it."""
    if not builds:
        return DeployHistory(None, None)
    stamps = sorted({t for seen in builds.values() for t in seen})
    at_end = [key for key, seen in builds.items() if stamps[-1] in seen]
    # Two builds overlap for a sample or two during a restart: the newer one started later.
    current_key = max(at_end, key=lambda key: min(t for t in builds[key] if not _gap_before(builds[key], t, stamps)))
    run_start = stamps[-1]
    for t in reversed(stamps):
        if t not in builds[current_key]:
            break
        run_start = t
    before = [t for t in stamps if t < run_start]
    current = Seen(*current_key, run_start, stamps[-1])
    if not before:
        return DeployHistory(current, None)
    others = [key for key, seen in builds.items() if key != current_key and before[-1] in seen]
    if not others:
        return DeployHistory(current, None)
    previous_key = others[0]
    return DeployHistory(current, Seen(*previous_key, min(builds[previous_key]), before[-1]))


def _gap_before(seen: set[float], t: float, stamps: list[float]) -> bool:
    """Whether `t` starts a later run than this build's latest one (a sample before it is missing)."""
    later = [s for s in stamps if s > t]
    return any(s not in seen for s in later)
