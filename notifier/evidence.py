"""The Evidence a page carries: which error, which code line, which build, since which deploy, which request.

Gathered after the page is posted (never delaying it) from three places:
- the error reports the SDK sent to `POST /v1/logs` (the store): the top fingerprints in the alert's
  window with type, message, `file:line in function`, the source line, count and build;
- Prometheus' RED metrics: the top failing routes and status codes, and an example trace id from a
  histogram exemplar (`/api/v1/query_exemplars`, else from a report);
- `bongsu_build_info` (bongsu/builds.py): the running build and, when it changed within the lookback
  before the alert started, the deploy note and the previous build a Roll back button can return to.
The result is a plain dict, stored with the group, so every later render shows the same evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timezone

import httpx

from bongsu import conventions
from bongsu.builds import history
from bongsu.catalog import Catalog, Duration
from notifier.payload import Notification
from notifier.recovery_store import Deploy, Evidence, FailingRoute, Fingerprint, FullReport, TopReport

REQUESTS = conventions.HTTP_REQUEST_DURATION  # the SDK's request histogram
MAX_WINDOW_S = 3600


def service_of(n: Notification) -> str | None:
    return n.group_labels.get("service") or n.common_labels.get("service")


def window(n: Notification, now: float) -> tuple[float, float]:
    """The alert's window: its long burn-rate window before it started (1h when it has none), until now."""
    started = min(a.starts_at for a in n.alerts).timestamp()
    label = n.common_labels.get("long_window") or n.group_labels.get("long_window")
    try:
        length = min(Duration.parse(label).seconds, MAX_WINDOW_S) if label else MAX_WINDOW_S
    except ValueError:
        length = MAX_WINDOW_S
    return started - length, now


def _fingerprint(top: TopReport) -> Fingerprint:
    r = top.report
    return {"type": r.exception_type, "message": r.exception_message[:300], "file": r.file, "line": r.line,
            "function": r.function, "source": r.source[:300], "count": top.count, "version": r.version,
            "revision": r.revision, "trace_id": r.trace_id, "route": r.route, "status": r.status}


def full_report(top: TopReport) -> FullReport:
    r = top.report
    return {**_fingerprint(top), "method": r.method, "url": r.url, "package": r.package,
            "breadcrumbs": r.breadcrumbs[-20:], "request": r.request, "frames": r.frames[-15:],
            "span_id": r.span_id}


def _failing_routes(prometheus_url: str, selector: str, seconds: int) -> list[FailingRoute]:
    promql = (f"topk(3, sum by (http_request_method, http_route, http_response_status_code) "
              f"(increase({REQUESTS}_count{{{selector},http_response_status_code=~\"5..\"}}[{seconds}s])))")
    answer = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": promql}, timeout=5)
    answer.raise_for_status()
    found: list[FailingRoute] = []
    for item in answer.json()["data"]["result"]:
        count = float(item["value"][1])
        if count >= 0.5:
            labels = item["metric"]
            found.append({"method": labels.get("http_request_method", ""), "route": labels.get("http_route", ""),
                          "status": labels.get("http_response_status_code", ""), "count": round(count)})
    return sorted(found, key=lambda f: -f["count"])


def _exemplar_trace(prometheus_url: str, selector: str, since: float, until: float) -> str | None:
    answer = httpx.get(f"{prometheus_url}/api/v1/query_exemplars", timeout=5, params={
        "query": f"{REQUESTS}_bucket{{{selector},http_response_status_code=~\"5..\"}}", "start": since, "end": until})
    if answer.status_code >= 400:
        return None
    for series in answer.json().get("data") or []:
        for exemplar in reversed(series.get("exemplars") or []):
            trace: str | None = exemplar.get("labels", {}).get("trace_id")
            if trace:
                return trace
    return None


def gather(n: Notification, catalog: Catalog, top_reports: Callable[[str, float, float], list[TopReport]],
           prometheus_url: str | None,
           lookback_s: float = 3600.0, now: float | None = None) -> Evidence | None:
    """Everything the page can say about the group's service; None when the group names no service.
    `top_reports(service, since, until)` reads the store. Prometheus failures leave parts out."""
    service = service_of(n)
    if not service:
        return None
    now = time.time() if now is None else now
    since, until = window(n, now)
    started = min(a.starts_at for a in n.alerts).astimezone(timezone.utc).timestamp()
    evidence: Evidence = {"service": service, "since": since, "until": until, "started_at": started,
                      "fingerprints": [], "reports": [], "routes": [], "trace_id": None, "deploy": None,
                      "rollback": None, "problems": []}
    tops = top_reports(service, since, until)
    evidence["fingerprints"] = [_fingerprint(t) for t in tops]
    evidence["reports"] = [full_report(t) for t in tops[:1]]
    entry = next((s for s in catalog.services if s.name == service), None)
    selector = entry.promql_selector if entry else f'job="{service}"'
    if prometheus_url:
        try:
            evidence["routes"] = _failing_routes(prometheus_url, selector, max(60, int(until - since)))
            evidence["trace_id"] = _exemplar_trace(prometheus_url, selector, since, until)
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            evidence["problems"].append(f"RED metrics: {type(exc).__name__}")
        try:
            seen = history(prometheus_url, selector, until=now, lookback_s=lookback_s + (now - started))
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            evidence["problems"].append(f"build history: {type(exc).__name__}")
        else:
            if seen.current:
                deploy: Deploy = {"version": seen.current.version, "revision": seen.current.revision,
                          "package": seen.current.package, "deployed_at": None, "previous": None}
                if seen.previous and seen.deployed_at and started - lookback_s <= seen.deployed_at <= now:
                    deploy["deployed_at"] = seen.deployed_at
                    deploy["previous"] = {"version": seen.previous.version, "revision": seen.previous.revision}
                    if entry is not None and entry.rollback is not None:
                        evidence["rollback"] = {"from": seen.current.version, "to": seen.previous.version}
                evidence["deploy"] = deploy
    if not evidence["trace_id"]:
        evidence["trace_id"] = next((f["trace_id"] for f in evidence["fingerprints"] if f["trace_id"]), None)
    return evidence
