"""Retry a check until it holds or a timeout passes.

Chaos Toolkit has no "retry until true" (chaostoolkit #204), and probes inside `method` do not fail
the run by their tolerance (chaostoolkit-lib #55), so every waiting probe waits by itself and raises
`ActivityFailed` with what it last saw when time runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx
from chaoslib.exceptions import ActivityFailed

T = TypeVar("T")


def until(check: Callable[[], tuple[bool, T]], timeout_s: float, what: str, interval_s: float = 1.0) -> T:
    """Call `check` (returning (holds, observation)) until it holds; return that observation.

    `timeout_s` 0 means check once. Connection errors count as "not yet" so a drill survives a
    restarting server, but are reported if time runs out."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    last: object = "nothing observed"
    while True:
        try:
            holds, observed = check()
            if holds:
                return observed
            last = observed
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise ActivityFailed(f"{what}: did not hold within {timeout_s:g}s; last observed: {last}")
        time.sleep(interval_s)
