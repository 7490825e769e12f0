"""A thousand services in 50 teams: the overview aggregates per team, so it stays far below the 1 MiB a
Kubernetes ConfigMap holds (the Grafana sidecar loads each dashboard from one)."""

from __future__ import annotations

import json

from bongsu.catalog import parse_catalog
from dashboards.boards import boards, to_json

TEAMS = 50


def big_catalog(services: int):
    teams = "".join(f"  - {{name: team-{t}, slack_channel: '#team-{t}'}}\n" for t in range(TEAMS))
    body = "".join(
        f"  - name: svc-{i:04d}\n    team: team-{i % TEAMS}\n    slos:\n"
        "      - {name: availability, sli: http_availability, objective: 99.9, window: 30d}\n"
        "      - {name: latency, sli: http_latency, threshold: 250ms, objective: 99, window: 30d}\n"
        for i in range(services))
    return parse_catalog(f"slack: {{default_channel: '#alerts'}}\nteams:\n{teams}services:\n{body}")


def test_the_overview_of_a_thousand_services_is_per_team_and_small():
    catalog = big_catalog(1000)
    overview = to_json(next(b for b in boards(catalog) if b.uid == "bongsu-overview"))
    size = len(json.dumps(overview, separators=(",", ":")))
    assert size < 1024 * 1024 * 0.75, size
    panels = [p for p in overview["panels"] if p["type"] != "row"]
    assert len(panels) == 5 * TEAMS  # up, traffic, errors, budget, firing: per team
    assert max(len(p["targets"]) for p in panels) <= 2  # one query per team (per SLO kind for budgets)
    firing = [p for p in panels if p["title"] == "team-7: firing alerts"][0]
    assert firing["targets"][0]["expr"] == 'count by (alertname) (ALERTS{alertstate="firing",team="team-7"})'
    assert {link["title"] for link in overview["links"]} >= {f"Team team-{t}" for t in range(TEAMS)}
