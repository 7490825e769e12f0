"""FastAPI's native OpenTelemetry (0.16x) beside Bongsu: exactly one server span per request.

FastAPI makes its own server span, duration histogram and log records once a global provider is set;
with Bongsu's middleware around it that doubles them. Two public ways keep it single:

- `FastAPI(telemetry=instrumentation.fastapi_telemetry())`: the documented `telemetry=` option,
  switching FastAPI's HTTP tracing, metrics and logs off for that app;
- for any other FastAPI app, Bongsu's middleware marks each request's ASGI scope with the
  `fastapi.telemetry` key, which FastAPI reads as "telemetry handled outside" (the same marker it
  sets itself for excluded requests, so mounted FastAPI apps skip them too). That marker is verified
  for the FastAPI versions in `VERIFIED`; tests/sdk/test_fastapi.py fails when FastAPI's behaviour
  changes, and other versions get a warning at start-up.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from loguru import logger

SCOPE_KEY = "fastapi.telemetry"
VERIFIED = ((0, 160), (0, 170))  # [from, to) minor versions whose scope marker is tested


def fastapi_telemetry() -> dict[str, Any]:
    """The `telemetry=` argument for `FastAPI(...)` under Bongsu: Bongsu's span and metrics are the
    request's; FastAPI's own HTTP span, histogram and logs are off."""
    return {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def _version(text: str) -> tuple[int, int]:
    parts = (text.split(".") + ["0", "0"])[:2]
    return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)


def cooperate_with_fastapi(app: object) -> bool:
    """True when `app` is a FastAPI application whose requests should carry the scope marker."""
    if type(app).__module__.split(".")[0] != "fastapi" and not any(
            cls.__module__ == "fastapi.applications" for cls in type(app).__mro__):
        return False
    import fastapi

    low, high = VERIFIED
    if not low <= _version(fastapi.__version__) < high:
        logger.warning("FastAPI {}: Bongsu's one-server-span cooperation is verified for FastAPI {}.{}-{}.{}x; "
                       "pass telemetry=instrumentation.fastapi_telemetry() to FastAPI() to be sure",
                       fastapi.__version__, low[0], low[1], high[0], high[1] - 1)
    return True


def mark(scope: MutableMapping[str, Any]) -> None:
    scope.setdefault(SCOPE_KEY, None)
