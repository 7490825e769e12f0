"""Prometheus' HTTP API as plain Python values: floats instead of Prometheus' sample strings."""

from __future__ import annotations

import math

import httpx
import yaml
from chaoslib.exceptions import ActivityFailed

Sample = tuple[dict[str, str], float]


def _get(url: str, path: str, params: dict | None = None) -> dict:
    response = httpx.get(f"{url}{path}", params=params, timeout=10)
    if response.status_code == 400:
        error = response.json().get("error", response.text)
        raise ActivityFailed(f"Prometheus rejected the request to {path}: {error}")
    response.raise_for_status()
    return response.json()["data"]


def query(url: str, promql: str, at: float | None = None) -> list[Sample]:
    """An instant query; each sample's value as a float (NaN and Inf kept as floats)."""
    params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
    data = _get(url, "/api/v1/query", params)
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    return [(item["metric"], float(item["value"][1])) for item in data["result"]]


def query_value(url: str, promql: str, at: float | None = None) -> float | None:
    """The single value of a query that should return one sample; None when it returns none."""
    samples = [value for _, value in query(url, promql, at) if not math.isnan(value)]
    if len(samples) > 1:
        raise ActivityFailed(f"query returned {len(samples)} series, expected one: {promql} "
                             "(aggregate it, e.g. with sum or max)")
    return samples[0] if samples else None


def query_range(url: str, promql: str, start: float, end: float, step: float) -> list[tuple[dict, list[tuple[float, float]]]]:
    data = _get(url, "/api/v1/query_range",
                {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})
    return [(item["metric"], [(float(t), float(v)) for t, v in item["values"]]) for item in data["result"]]


def alerts(url: str) -> list[dict]:
    """Active (pending or firing) alerts, each with `labels`, `state` and `activeAt`."""
    return _get(url, "/api/v1/alerts")["alerts"]


def alerting_rules(url: str) -> list[dict]:
    """Every alerting rule with its group's evaluation `interval` added, in seconds."""
    rules = []
    for group in _get(url, "/api/v1/rules", {"type": "alert"})["groups"]:
        for rule in group["rules"]:
            rules.append({**rule, "group_interval_s": float(group.get("interval", 0))})
    return rules


def config(url: str) -> dict:
    """The loaded configuration, parsed."""
    return yaml.safe_load(_get(url, "/api/v1/status/config")["yaml"])


def config_file(url: str) -> str:
    """Path of the configuration file Prometheus was started with."""
    return _get(url, "/api/v1/status/flags")["config.file"]


def reload(url: str) -> None:
    response = httpx.post(f"{url}/-/reload", timeout=30)
    if response.status_code != 200:
        raise ActivityFailed(f"Prometheus did not reload its configuration ({response.status_code}): "
                             f"{response.text.strip()[:300]} (is --web.enable-lifecycle set?)")
