"""The webhook endpoint's contract: bearer auth, 400 for bad bodies, over-limit groups kept truncated
(never a 4xx Alertmanager would not retry), 413 only past the hard limit, no crash."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone

import httpx

from notifier.oversize import HARD_LIMIT_BYTES
from notifier.settings import MAX_WEBHOOK_BYTES
from tests.notifier.conftest import SLACK_TOKEN, WEBHOOK_TOKEN


def _payload(channel: str) -> dict:
    labels = {"alertname": "WebhookCheck", "slack_channel": channel, "severity": "ticket"}
    return {"version": "4", "groupKey": '{}:{alertname="WebhookCheck"}', "truncatedAlerts": 0, "status": "firing",
            "receiver": "notifier", "groupLabels": {"alertname": "WebhookCheck"}, "commonLabels": labels,
            "commonAnnotations": {"summary": "direct post"}, "externalURL": "http://127.0.0.1:9",
            "alerts": [{"status": "firing", "labels": labels, "annotations": {"summary": "direct post"},
                        "startsAt": datetime.now(timezone.utc).isoformat(), "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "", "fingerprint": "0123abcd"}]}


def test_bad_requests_get_clear_errors_and_the_server_keeps_working(stack, slack):
    notifier, _ = stack
    good = json.dumps(_payload("#t-webhook")).encode()

    assert notifier.post("/alertmanager", good, token=None).status_code == 401
    assert notifier.post("/alertmanager", good, token="wrong").status_code == 401
    assert notifier.post("/alertmanager", good, token=SLACK_TOKEN).status_code == 401

    broken = notifier.post("/alertmanager", b'{"version": "4", "groupKey": ')
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    shape = dict(_payload("#t-webhook"), alerts=[{"status": "burning"}])
    wrong = notifier.post("/alertmanager", json.dumps(shape).encode())
    assert wrong.status_code == 400
    assert "alerts[0].status" in wrong.json()["error"] and "alerts[0].labels" in wrong.json()["error"]
    assert notifier.post("/alertmanager", b"[1, 2]").status_code == 400
    assert notifier.post("/alertmanager", b"\xff\xfe").status_code == 400

    huge = b'{"pad": "' + b"x" * (MAX_WEBHOOK_BYTES + 10) + b'"}'
    refused = notifier.post("/alertmanager", huge)
    assert refused.status_code == 400 and "over the size limit" in refused.json()["error"], "garbage stays garbage"

    def chunks():
        for _ in range(MAX_WEBHOOK_BYTES // 65536 + 2):
            yield b"x" * 65536
    streamed = httpx.post(f"{notifier.url}/alertmanager", content=chunks(), timeout=30,
                          headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    assert streamed.status_code == 400, "a chunked body without Content-Length is read in bounded memory too"
    with socket.create_connection(("127.0.0.1", notifier.port), timeout=10) as raw:
        raw.sendall(f"POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WEBHOOK_TOKEN}\r\n"
                    f"Content-Length: {HARD_LIMIT_BYTES + 1}\r\n\r\n".encode())
        assert raw.recv(64).startswith(b"HTTP/1.1 413"), "past the hard limit, not even read"

    assert httpx.get(f"{notifier.url}/api/deliveries", timeout=10).status_code == 401
    assert httpx.get(f"{notifier.url}/livez", timeout=10).status_code == 200
    assert httpx.get(f"{notifier.url}/readyz", timeout=10).json()["status"] == "pass"

    accepted = notifier.post("/alertmanager", good)
    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}
    again = notifier.post("/alertmanager", good)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    slack.wait_for(lambda s: len(s.roots("#t-webhook")) == 1, 30, "the valid notification's message")
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="malformed") >= 6
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="too_large") >= 1
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="unauthorized") >= 3
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="duplicate") >= 1
    logs = notifier.logs()
    assert WEBHOOK_TOKEN not in logs and SLACK_TOKEN not in logs


def test_a_group_over_the_body_limit_is_recorded_truncated_and_shown(stack, slack):
    """Thousands of alerts with long annotations: kept as many as fit, the rest counted, a 2xx."""
    notifier, _ = stack
    payload = _payload("#t-huge")
    payload["groupKey"] = '{}:{alertname="HugeCheck"}'
    payload["groupLabels"] = {"alertname": "HugeCheck"}
    payload["commonLabels"] = {**payload["commonLabels"], "alertname": "HugeCheck"}
    template = payload["alerts"][0]
    payload["alerts"] = [{**template, "labels": {**template["labels"], "alertname": "HugeCheck", "pod": f"p{i}"},
                          "annotations": {"summary": "direct post", "description": "d" * 2000},
                          "fingerprint": f"{i:016x}"} for i in range(3000)]
    payload["truncatedAlerts"] = 7  # Alertmanager's own max_alerts left some out already
    body = json.dumps(payload).encode()
    assert len(body) > MAX_WEBHOOK_BYTES
    answer = notifier.post("/alertmanager", body)
    assert answer.status_code == 200 and answer.json() == {"status": "accepted"}
    assert notifier.post("/alertmanager", body).json() == {"status": "duplicate"}, "its retry is the same state"
    slack.wait_for(lambda s: len(s.roots("#t-huge")) == 1, 60, "the truncated group's message")
    root = slack.roots("#t-huge")[0]
    kept = next(d for d in notifier.deliveries() if d["group_key"] == payload["groupKey"])["alerts"]
    assert 1000 < len(kept) < 3000
    assert f"(3007 alerts, {3007 - len(kept)} not listed)" in root["text"], root["text"]
    assert "recorded as a truncated group" in notifier.logs()


def test_the_generated_alertmanager_config_caps_alerts_per_webhook(tmp_path):
    from alert_rules import routing
    from bongsu.build import BuildOptions
    from bongsu.catalog import load_catalog

    config = routing.alertmanager_config(load_catalog(None), BuildOptions(out=tmp_path))
    webhooks = [w for r in config["receivers"] for w in r["webhook_configs"]]
    assert webhooks and all(w["max_alerts"] == routing.WEBHOOK_MAX_ALERTS > 0 for w in webhooks)
