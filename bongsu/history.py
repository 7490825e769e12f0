"""Healthy traffic history for a new local stack, so its long SLO windows behave like production's.

A burn-rate tier compares a long window (up to 3 days) with a short one. On a Prometheus that started
minutes ago every long window holds only those minutes, so a one-minute outage looks like a days-long
disaster: the slow tiers fire and stay firing for hours. Backfilling a few days of healthy traffic
(with `promtool tsdb create-blocks-from openmetrics`) makes a drill's arithmetic the Workbook's: a
100% error burst pages after about 0.0144 x 1h = 52 s, and only on the fast tier.

The series carry `instance="backfill"` and `http_route="(backfill)"`, so nobody mistakes them for
real requests.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bongsu import conventions
from bongsu.binaries import find
from bongsu.catalog import Duration, Service

STEP_S = 120
# A healthy latency profile: cumulative share of requests at or under each bucket boundary.
_LATENCY_SHARE = ((0.005, 0.10), (0.01, 0.40), (0.025, 0.80), (0.05, 0.95), (0.075, 0.98), (0.1, 0.995),
                  (0.25, 0.9995), (0.5, 0.9999))
_ERROR_SHARE = 0.0001  # 0.01% of requests answered 5xx: a tenth of a 99.9% budget, well inside every SLO
_METRIC = conventions.HTTP_REQUEST_DURATION


def _share_at_or_under(le: float) -> float:
    share = 0.0
    for boundary, cumulative in _LATENCY_SHARE:
        if boundary <= le:
            share = cumulative
    return 1.0 if le >= 1.0 else share


def openmetrics(services: list[Service], rate: float, length: Duration, end: int) -> str:
    """The history as OpenMetrics text: counters growing at `rate` req/s until `end` (unix seconds)."""
    start = end - int(length.seconds)
    lines: list[str] = [f"# TYPE {_METRIC} histogram"]
    for service in services:
        for status, share in (("200", 1 - _ERROR_SHARE), ("500", _ERROR_SHARE)):
            base = (f'job="{service.name}",instance="backfill",team="{service.team}",http_request_method="POST",'
                    f'http_route="(backfill)",http_response_status_code="{status}"')
            for t in range(start, end + 1, STEP_S):
                total = rate * share * (t - start)
                for le in service.buckets:
                    lines.append(f'{_METRIC}_bucket{{{base},le="{le}"}} {total * _share_at_or_under(le):.3f} {t}')
                lines.append(f'{_METRIC}_bucket{{{base},le="+Inf"}} {total:.3f} {t}')
                lines.append(f"{_METRIC}_count{{{base}}} {total:.3f} {t}")
                lines.append(f"{_METRIC}_sum{{{base}}} {total * 0.02:.3f} {t}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(services: list[Service], rate: float, length: Duration, data_dir: Path, work_dir: Path) -> int:
    """Write `length` of healthy history ending a minute ago into Prometheus' data folder.

    Must run before Prometheus starts on `data_dir`. Returns the number of samples written.
    """
    end = int(time.time()) // STEP_S * STEP_S - STEP_S
    text = openmetrics(services, rate, length, end)
    source = work_dir / "history.om"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text)
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(find("promtool")), "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                             f"--max-block-duration={int(length.seconds // 3600) + 2}h", str(source),
                             str(data_dir)], capture_output=True, text=True, timeout=300)
    source.unlink()
    if result.returncode != 0:
        raise RuntimeError(f"promtool could not backfill history: {result.stderr.strip()[-500:]}")
    return text.count("\n") - 2
