"""Alertmanager routing from the catalog: a route per team, page/ticket timing, inhibitions, a default.

Every receiver is the notifier's webhook with bearer auth; the notifier picks the Slack channel from
the `team` label (a group label, so it is in every payload). The token itself is never in the config:
it sits in a credentials file beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bongsu.build import BuildOptions
from bongsu.catalog import DEFAULT_RECEIVER, TIERS, Catalog

# Alerts of one SLO (all its tiers) or one symptom of one service make one notification.
GROUP_BY = ["alertname", "team", "service", "slo"]
# Beside alertmanager.yml; Alertmanager 0.25 resolves relative credentials files against the config's folder.
TOKEN_FILE = "webhook-token"
# At most this many alerts per webhook; Alertmanager reports the rest in `truncatedAlerts`, which the
# notifier shows. 0 meant "all", and a big enough group outgrew the notifier's body limit (a 4xx that
# Alertmanager never retries).
WEBHOOK_MAX_ALERTS = 200


def _webhook(options: BuildOptions) -> dict:
    return {"url": options.notifier_url, "send_resolved": True, "max_alerts": WEBHOOK_MAX_ALERTS,
            "http_config": {"authorization": {"type": "Bearer", "credentials_file": TOKEN_FILE}}}


def _severity_routes(options: BuildOptions) -> list[dict]:
    """Timing by severity: pages go out fast and repeat often, tickets are batched."""
    return [
        {"matchers": ['severity="page"'], "group_wait": str(options.page_group_wait),
         "group_interval": str(options.page_group_interval),
         "repeat_interval": str(options.page_repeat_interval)},
        {"matchers": ['severity="ticket"'], "group_wait": str(options.ticket_group_wait),
         "group_interval": str(options.ticket_group_interval),
         "repeat_interval": str(options.ticket_repeat_interval)},
    ]


def inhibit_rules(catalog: Catalog) -> list[dict]:
    """A page silences the tickets of the same SLO; a service that is down silences its SLO alerts."""
    rules = [{"source_matchers": ['severity="page"', 'slo=~".+"'],
              "target_matchers": ['severity="ticket"', 'slo=~".+"'],
              "equal": ["service", "slo"]}]
    for service in catalog.services:
        if service.slos:
            rules.append({"source_matchers": [f'alertname="{service.target_down_alert}"'],
                          "target_matchers": [f'service="{service.name}"', 'slo=~".+"'],
                          "equal": ["service"]})
    return rules


def alertmanager_config(catalog: Catalog, options: BuildOptions) -> dict:
    team_routes = [{"receiver": team.receiver, "matchers": [f'team="{team.name}"'],
                    "routes": _severity_routes(options)} for team in catalog.teams]
    receivers = [{"name": DEFAULT_RECEIVER, "webhook_configs": [_webhook(options)]}]
    receivers += [{"name": team.receiver, "webhook_configs": [_webhook(options)]} for team in catalog.teams]
    return {
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": GROUP_BY,
            "group_wait": str(options.page_group_wait),
            "group_interval": str(options.page_group_interval),
            "repeat_interval": str(options.page_repeat_interval),
            # Teams first; anything else (no team label, an unknown team) falls to the default channel.
            "routes": [*team_routes, *_severity_routes(options)],
        },
        "inhibit_rules": inhibit_rules(catalog),
        "receivers": receivers,
    }


@dataclass(frozen=True)
class RouteCase:
    """An alert's labels and the receiver they must reach; run with `amtool config routes test`."""

    labels: dict[str, str]
    receiver: str
    why: str

    def as_dict(self) -> dict:
        return {"why": self.why, "labels": self.labels, "receiver": self.receiver}


def route_cases(catalog: Catalog) -> list[RouteCase]:
    """For every team: its page, ticket and symptom alerts reach its receiver. Plus the default route.

    Routing is by the `team` label alone, so one service per team stands for all of its services.
    """
    cases: list[RouteCase] = []
    for team in catalog.teams:
        service = next((s for s in catalog.services if s.team == team.name), None)
        if service is None:
            cases.append(RouteCase({"alertname": "BongsuRouteProbe", "severity": "page", "team": team.name},
                                   team.receiver, f"team {team.name} (no services yet) has a route"))
            continue
        base = {"team": team.name, "service": service.name}
        cases.append(RouteCase({"alertname": service.target_down_alert, "severity": "page", **base},
                               team.receiver, f"{service.name} down pages team {team.name}"))
        cases.append(RouteCase({"alertname": service.metrics_absent_alert, "severity": "ticket", **base},
                               team.receiver, f"{service.name} metrics absent tickets team {team.name}"))
        for slo in service.slos[:1]:
            for severity in sorted({tier.severity for tier in TIERS}):
                cases.append(RouteCase(
                    {"alertname": service.slo_alert(slo), "severity": severity, "slo": slo.name, **base},
                    team.receiver, f"{service.name} {slo.name} {severity} reaches team {team.name}"))
    cases.append(RouteCase({"alertname": "BongsuRouteProbe", "severity": "page"}, DEFAULT_RECEIVER,
                           "an alert without a team goes to the default channel"))
    cases.append(RouteCase({"alertname": "BongsuRouteProbe", "severity": "ticket", "team": "no-such-team"},
                           DEFAULT_RECEIVER, "an alert naming an unknown team goes to the default channel"))
    return cases
