"""Moments of the drill in progress (fault injected, fault cleared), shared by its activities.

Experiment files are static, but "delivered after this fault" needs the fault's time: the actions
mark it here and the waiting probes read it, so a delivery left over from an earlier drill never
counts. The control resets the marks when an experiment starts; one experiment runs at a time in a
process, as with `chaos run` and `bongsu drill`.
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_marks: dict[str, float] = {}


def reset() -> None:
    with _lock:
        _marks.clear()
        _marks["started"] = time.time()


def mark(name: str, at: float | None = None) -> float:
    with _lock:
        _marks[name] = at if at is not None else time.time()
        return _marks[name]


def get(name: str) -> float | None:
    with _lock:
        return _marks.get(name)


def since_fault() -> float:
    """When the current fault was injected; else when the experiment started; else an hour ago."""
    with _lock:
        return _marks.get("injected") or _marks.get("started") or time.time() - 3600
