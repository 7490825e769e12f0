"""Which channel a group goes to, and the links its message carries, from labels and the catalog."""

from __future__ import annotations

import re

from bongsu.catalog import Catalog
from notifier.payload import Notification
from notifier.silences import Matcher


def _label(notification: Notification, name: str) -> str | None:
    return notification.group_labels.get(name) or notification.common_labels.get(name)


def channel_for(notification: Notification, catalog: Catalog) -> str:
    """A `slack_channel` label, else the `team` label's channel in the catalog, else the default."""
    explicit = _label(notification, "slack_channel")
    if explicit:
        return explicit
    return catalog.channel_for_team(_label(notification, "team"))


def runbook_url(notification: Notification, catalog: Catalog) -> str:
    annotated = notification.common_annotations.get("runbook_url") or notification.alerts[0].annotations.get(
        "runbook_url")
    if annotated:
        return annotated
    return catalog.links.runbook_url(_label(notification, "alertname") or notification.alerts[0].name)


def dashboard_url(notification: Notification, catalog: Catalog) -> str | None:
    """An annotated dashboard, else the service's SLO or RED dashboard from the catalog."""
    annotated = notification.common_annotations.get("dashboard_url") or notification.alerts[0].annotations.get(
        "dashboard_url")
    if annotated:
        return annotated
    name = _label(notification, "service") or _label(notification, "job")
    service = next((s for s in catalog.services if s.name == name), None)
    if service is None:
        return None
    uid = service.slo_dashboard_uid if _label(notification, "slo") else service.red_dashboard_uid
    return catalog.links.dashboard_url(uid)


_ROUTE_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def route_matchers(group_key: str) -> list[Matcher]:
    """The matchers of the route that grouped the alerts, from Alertmanager's group key
    (`{}/{team="payments"}/{severity=~"page"}:{alertname="X"}`: route path, then the group labels)."""
    path = group_key.rsplit(":{", 1)[0] if ":{" in group_key else ""
    found: list[Matcher] = []
    for name, op, value in _ROUTE_MATCHER.findall(path):
        found.append({"name": name, "value": bytes(value, "utf-8").decode("unicode_escape"),
                      "isRegex": op in ("=~", "!~"), "isEqual": op in ("=", "=~")})
    return found


def silence_matchers(notification: Notification) -> list[Matcher]:
    """What a silence for the whole group matches: its group labels (else its common labels) as
    equality matchers, plus the matchers of the route that grouped it, so the silence covers this
    group and nothing another route groups under the same labels."""
    labels = dict(notification.group_labels) or dict(notification.common_labels)
    matchers: list[Matcher] = [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())]
    seen = {(m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in matchers}
    for matcher in route_matchers(notification.group_key):
        key = (matcher["name"], matcher["value"], matcher["isRegex"], matcher["isEqual"])
        if key not in seen:
            seen.add(key)
            matchers.append(matcher)
    return matchers


def team_for(notification: Notification, catalog: Catalog) -> str | None:
    """The team whose responders may act on a group: its `team` label, else its service's team."""
    team = _label(notification, "team")
    if team and catalog.team(team):
        return team
    name = _label(notification, "service") or _label(notification, "job")
    service = next((s for s in catalog.services if s.name == name), None)
    return service.team if service else None
