"""Grafana data sources for the compose stack: Prometheus (exemplars link to traces), Tempo (traces
link to logs) and Loki (trace ids in log lines link back to traces).

The Prometheus entry is the one the dashboards generator wrote (its UID is what every panel names),
read from DIR and extended, never rebuilt here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROMETHEUS_UID = "prometheus"  # only when the dashboards generator wrote no data source
TEMPO_UID = "bongsu-tempo"
LOKI_UID = "bongsu-loki"
TEMPO_URL = "http://tempo:3200"
LOKI_URL = "http://loki:3100"
PROMETHEUS_URL = "http://prometheus:9090"
# The SDK's exemplar label and log field holding the trace id, and its log label for the service.
TRACE_ID = "trace_id"
LOKI_SERVICE_LABEL = "service_name"


def datasources(generated: Path) -> dict[str, Any]:
    """The data sources file for compose's Grafana, given DIR/grafana/provisioning/datasources/."""
    base: list[dict[str, Any]] = []
    for path in sorted(generated.glob("*.yaml")) if generated.is_dir() else []:
        base += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("datasources", [])
    if not any(source.get("type") == "prometheus" for source in base):
        base.append({"name": "Prometheus", "uid": PROMETHEUS_UID, "type": "prometheus", "access": "proxy",
                     "url": PROMETHEUS_URL, "isDefault": True, "editable": False})
    for source in base:
        if source.get("type") == "prometheus":
            source.setdefault("jsonData", {})["exemplarTraceIdDestinations"] = [
                {"name": TRACE_ID, "datasourceUid": TEMPO_UID}]
    prometheus_uid = next(s["uid"] for s in base if s.get("type") == "prometheus")
    tempo = {
        "name": "Tempo", "uid": TEMPO_UID, "type": "tempo", "access": "proxy", "url": TEMPO_URL,
        "editable": False,
        "jsonData": {
            "tracesToLogsV2": {
                "datasourceUid": LOKI_UID, "filterByTraceID": True,
                "spanStartTimeShift": "-5m", "spanEndTimeShift": "5m",
                "tags": [{"key": "service.name", "value": LOKI_SERVICE_LABEL}],
            },
            "tracesToMetrics": {"datasourceUid": prometheus_uid},
            "lokiSearch": {"datasourceUid": LOKI_UID},
            "nodeGraph": {"enabled": True},
        },
    }
    loki = {
        "name": "Loki", "uid": LOKI_UID, "type": "loki", "access": "proxy", "url": LOKI_URL,
        "editable": False,
        "jsonData": {"derivedFields": [{
            # `$$` is a literal `$`: Grafana expands environment variables in provisioning files.
            "name": "TraceID", "datasourceUid": TEMPO_UID, "url": "$${__value.raw}",
            "matcherRegex": f'"{TRACE_ID}":"([0-9a-f]+)"',
        }]},
    }
    return {"apiVersion": 1, "datasources": [*base, tempo, loki]}


def write(out: Path, header: str) -> Path:
    path = out / "compose" / "grafana" / "datasources" / "bongsu.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    content = datasources(out / "grafana" / "provisioning" / "datasources")
    path.write_text(header + yaml.safe_dump(content, sort_keys=False))
    return path
