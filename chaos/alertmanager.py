"""Alertmanager's v2 API and its routing tree: which receiver an alert went to, and with what timing."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import yaml

from bongsu.catalog import Duration

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def alerts(url: str, labels: dict[str, str]) -> list[dict]:
    """Active alerts whose labels include `labels`, each with `fingerprint` and `receivers`."""
    filters = [f'{key}="{value}"' for key, value in sorted(labels.items())]
    response = httpx.get(f"{url}/api/v2/alerts", params={"filter": filters, "active": "true"}, timeout=10)
    response.raise_for_status()
    return response.json()


def silences(url: str) -> list[dict]:
    response = httpx.get(f"{url}/api/v2/silences", timeout=10)
    response.raise_for_status()
    return response.json()


def config(url: str) -> dict:
    """The running configuration, parsed from `GET /api/v2/status`."""
    response = httpx.get(f"{url}/api/v2/status", timeout=10)
    response.raise_for_status()
    return yaml.safe_load(response.json()["config"]["original"])


@dataclass(frozen=True)
class Route:
    receiver: str
    group_wait_s: float
    group_interval_s: float


def _matches(matcher: str, labels: dict[str, str]) -> bool:
    found = _MATCHER.match(matcher)
    if not found:
        raise ValueError(f"cannot read Alertmanager matcher {matcher!r}")
    name, op, value = found.groups()
    actual = labels.get(name, "")
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    hit = re.fullmatch(value, actual) is not None
    return hit if op == "=~" else not hit


def _route_matches(route: dict, labels: dict[str, str]) -> bool:
    checks = [f'{k}="{v}"' for k, v in (route.get("match") or {}).items()]
    checks += [f'{k}=~"{v}"' for k, v in (route.get("match_re") or {}).items()]
    checks += list(route.get("matchers") or [])
    return all(_matches(m, labels) for m in checks)


def _seconds(value: str | None, inherited: float) -> float:
    return Duration.parse(value).seconds if value else inherited


def routes_for(tree: dict, labels: dict[str, str]) -> list[Route]:
    """The routes an alert with `labels` takes (Alertmanager's depth-first walk with `continue`),
    with inherited receiver and timing; defaults are Alertmanager's (30s, 5m)."""
    found: list[Route] = []

    def walk(route: dict, receiver: str, wait: float, interval: float) -> bool:
        receiver = route.get("receiver", receiver)
        wait = _seconds(route.get("group_wait"), wait)
        interval = _seconds(route.get("group_interval"), interval)
        matched_child = False
        for child in route.get("routes") or []:
            if _route_matches(child, labels) and walk(child, receiver, wait, interval):
                matched_child = True
                if not child.get("continue", False):
                    break
        if not matched_child:
            found.append(Route(receiver, wait, interval))
        return True

    walk(tree["route"], tree["route"].get("receiver", ""), 30.0, 300.0)
    return found
