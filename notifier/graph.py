"""A PNG of the alert's expression over the last hour, from Prometheus `query_range`, via matplotlib."""

from __future__ import annotations

import io
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from notifier.payload import Notification


def expression(generator_url: str) -> str | None:
    """The PromQL behind an alert: Prometheus puts it in its generatorURL as `g0.expr`."""
    values = parse_qs(urlparse(generator_url).query).get("g0.expr")
    return values[0] if values else None


class GraphPoster:
    def __init__(self, prometheus_url: str, timeout: float = 5.0, window_s: int = 3600) -> None:
        self.prometheus_url = prometheus_url.rstrip("/")
        self.timeout = timeout
        self.window_s = window_s

    def render(self, notification: Notification) -> bytes | None:
        """None when there is nothing to draw; network and HTTP errors propagate as OSError/ValueError."""
        expr = expression(notification.alerts[0].generator_url)
        if not expr:
            return None
        end = time.time()
        try:
            answer = httpx.get(f"{self.prometheus_url}/api/v1/query_range", timeout=self.timeout,
                               params={"query": expr, "start": end - self.window_s, "end": end, "step": 30})
            answer.raise_for_status()
            series = answer.json()["data"]["result"]
        except httpx.HTTPError as exc:
            raise OSError(f"Prometheus query_range failed: {type(exc).__name__}") from None
        except (KeyError, TypeError) as exc:
            raise ValueError(f"unexpected query_range answer: {exc}") from None
        if not series:
            return None
        return _plot(series, expr, notification.alerts[0].name)


def _plot(series: list[dict[str, Any]], expr: str, title: str) -> bytes:
    from matplotlib.figure import Figure  # imported lazily: only needed when PROMETHEUS_URL is set

    figure = Figure(figsize=(8, 3), dpi=100)
    axes = figure.subplots()
    for item in series[:10]:
        times = [datetime.fromtimestamp(float(t), timezone.utc) for t, _ in item["values"]]
        values = [float(v) for _, v in item["values"]]
        label = ",".join(f"{k}={v}" for k, v in sorted(item["metric"].items()) if k != "__name__")[:60]
        axes.plot(times, values, label=label or None)  # type: ignore[arg-type]  # matplotlib plots datetimes through its date units; its stubs list arrays only
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("UTC")
    axes.grid(alpha=0.3)
    if any(item["metric"] for item in series[:10]):
        axes.legend(fontsize=7, loc="upper left")
    figure.text(0.01, 0.01, expr[:120], fontsize=6, family="monospace")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
