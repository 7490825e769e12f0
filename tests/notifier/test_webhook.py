"""The webhook endpoint's contract: bearer auth, 400 for bad bodies, 413 over the limit, no crash."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx

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
    assert notifier.post("/alertmanager", huge).status_code == 413

    def chunks():
        for _ in range(MAX_WEBHOOK_BYTES // 65536 + 2):
            yield b"x" * 65536
    streamed = httpx.post(f"{notifier.url}/alertmanager", content=chunks(), timeout=30,
                          headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    assert streamed.status_code == 413, "a chunked body without Content-Length is cut off too"

    assert httpx.get(f"{notifier.url}/api/deliveries", timeout=10).status_code == 401
    assert httpx.get(f"{notifier.url}/livez", timeout=10).status_code == 200
    assert httpx.get(f"{notifier.url}/readyz", timeout=10).json()["status"] == "pass"

    accepted = notifier.post("/alertmanager", good)
    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}
    again = notifier.post("/alertmanager", good)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    slack.wait_for(lambda s: len(s.roots("#t-webhook")) == 1, 30, "the valid notification's message")
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="malformed") >= 4
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="too_large") >= 2
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="unauthorized") >= 3
    assert notifier.metric("bongsu_notifier_webhooks_received_total", outcome="duplicate") >= 1
    logs = notifier.logs()
    assert WEBHOOK_TOKEN not in logs and SLACK_TOKEN not in logs
