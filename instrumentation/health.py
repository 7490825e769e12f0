"""`/livez` and `/readyz` in the application/health+json shape, with pluggable readiness checks.

A check is a sync or async callable returning True/None (pass), False (fail), or one of
"pass"/"warn"/"fail"; raising or exceeding its timeout counts as fail. Liveness never runs checks:
a failing database must take the instance out of rotation, not get it restarted.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from opentelemetry.context import attach, detach, set_value

from instrumentation.spanqueue import SUPPRESS_KEY

CONTENT_TYPE = "application/health+json"
CHECK_TIMEOUT_S = 2.0
_RANK = {"pass": 0, "warn": 1, "fail": 2}

Check = Callable[[], Any] | Callable[[], Awaitable[Any]]


@dataclass
class _Registered:
    fn: Check
    timeout: float


_checks: dict[str, _Registered] = {}
_lock = threading.Lock()


def add_readiness_check(name: str, fn: Check, timeout: float = CHECK_TIMEOUT_S) -> None:
    """Register (or replace) a readiness check shown under `checks[name]` in /readyz."""
    if not name or not callable(fn):
        raise ValueError(f"add_readiness_check needs a name and a callable, got {name!r}, {fn!r}")
    with _lock:
        _checks[name] = _Registered(fn, timeout)


def remove_readiness_check(name: str) -> None:
    with _lock:
        _checks.pop(name, None)


def _status(value: Any) -> tuple[str, str | None]:
    if value is None or value is True:
        return "pass", None
    if value is False:
        return "fail", None
    if isinstance(value, str) and value in _RANK:
        return value, None
    return "fail", f"check returned {value!r}; expected a bool or pass/warn/fail"


def _entry(status: str, output: str | None, started: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status, "observedValue": round((time.perf_counter() - started) * 1000, 3),
                             "observedUnit": "ms", "time": datetime.now(timezone.utc).isoformat()}
    if output:
        entry["output"] = output
    return entry


async def _run_async(registered: _Registered) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        if inspect.iscoroutinefunction(registered.fn):
            value = await asyncio.wait_for(registered.fn(), registered.timeout)
        else:
            value = await asyncio.wait_for(asyncio.to_thread(registered.fn), registered.timeout)
            if inspect.isawaitable(value):
                value = await asyncio.wait_for(value, registered.timeout)
        status, output = _status(value)
    except asyncio.TimeoutError:
        status, output = "fail", f"timed out after {registered.timeout}s"
    except Exception as exc:  # noqa: BLE001 - a failing check is a result, not an error
        status, output = "fail", f"{type(exc).__name__}: {exc}"
    return _entry(status, output, started)


def _run_sync(registered: _Registered) -> dict[str, Any]:
    started = time.perf_counter()
    outcome: dict[str, Any] = {}

    def call() -> None:
        attach(set_value(SUPPRESS_KEY, True))  # this thread only runs the check
        try:
            value = registered.fn()
            if inspect.iscoroutine(value):
                value = asyncio.run(value)
            outcome["result"] = _status(value)
        except Exception as exc:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            outcome["result"] = ("fail", f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=call, name="bongsu-readiness", daemon=True)
    worker.start()
    worker.join(registered.timeout)
    status, output = outcome.get("result", ("fail", f"timed out after {registered.timeout}s"))
    return _entry(status, output, started)


def _document(service: dict[str, str], results: dict[str, dict[str, Any]]) -> tuple[int, bytes]:
    overall = max((r["status"] for r in results.values()), key=_RANK.__getitem__, default="pass")
    body: dict[str, Any] = {"status": overall, "serviceId": service.get("service.instance.id"),
                            "description": service.get("service.name"), "version": service.get("service.version")}
    if results:
        body["checks"] = {name: [result] for name, result in results.items()}
    return (503 if overall == "fail" else 200), json.dumps(body).encode()


def liveness(service: dict[str, str]) -> tuple[int, bytes]:
    return _document(service, {})


async def readiness_async(service: dict[str, str]) -> tuple[int, bytes]:
    with _lock:
        checks = dict(_checks)
    # Probes run every few seconds: their outgoing calls would be a stream of root client spans.
    token = attach(set_value(SUPPRESS_KEY, True))
    try:
        results = await asyncio.gather(*(_run_async(c) for c in checks.values()))
    finally:
        detach(token)
    return _document(service, dict(zip(checks, results)))


def readiness_sync(service: dict[str, str]) -> tuple[int, bytes]:
    with _lock:
        checks = dict(_checks)
    return _document(service, {name: _run_sync(c) for name, c in checks.items()})
