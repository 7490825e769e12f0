"""Which channel a group goes to, and the links its message carries, from labels and the catalog."""

from __future__ import annotations

from bongsu.catalog import Catalog
from notifier.payload import Notification


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


def silence_matchers(notification: Notification) -> dict[str, str]:
    """The labels a silence for the whole group matches: its group labels, else its common labels."""
    return dict(notification.group_labels) or dict(notification.common_labels)


def team_for(notification: Notification, catalog: Catalog) -> str | None:
    """The team whose responders may act on a group: its `team` label, else its service's team."""
    team = _label(notification, "team")
    if team and catalog.team(team):
        return team
    name = _label(notification, "service") or _label(notification, "job")
    service = next((s for s in catalog.services if s.name == name), None)
    return service.team if service else None
