"""The Roll back button on a running notifier app: forged, stale and unauthorised clicks are refused
and change nothing; an authorised click runs the catalog's rollback exactly once, however often it is
pressed, and its record shows in the message and the thread."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from pydantic import SecretStr
from starlette.testclient import TestClient

from bongsu.catalog import DEFAULT_CATALOG, load_catalog
from notifier.app import create_app
from notifier.settings import Settings
from notifier.signature import sign
from notifier.sinks import plain_text
from tests.recovery.otlp import error_record, export_request

TOKEN, SECRET, RESPONDER = "webhook-token-rb", "signing-secret-rb", "U0ONCALL1"


def _catalog(tmp: Path, ran: Path) -> Path:
    document = yaml.safe_load(DEFAULT_CATALOG.read_text())
    for team in document["teams"]:
        team["responders"] = {"users": [RESPONDER]}
    payments = next(s for s in document["services"] if s["name"] == "payments")
    # The rollback appends one line per run: exactly once means exactly one line.
    payments["rollback"] = {"kind": "command", "command": [
        sys.executable, "-c", "import os, sys; open(sys.argv[1], 'a').write(os.environ['BONGSU_ROLLBACK_FROM'] + "
        "'->' + os.environ['BONGSU_ROLLBACK_TO'] + chr(10))", str(ran)]}
    path = tmp / "catalog.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def notifier(tmp_path: Path) -> Iterator[tuple[TestClient, object, Path]]:
    ran = tmp_path / "rollbacks.txt"
    settings = Settings(state=tmp_path / "state" / "state.sqlite", webhook_token=SecretStr(TOKEN),
                        signing_secret=SecretStr(SECRET))
    app = create_app(settings, load_catalog(_catalog(tmp_path, ran)))
    with TestClient(app) as client:
        yield client, app.state.store, ran


def _wait(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def _journal(tmp: Path) -> list[dict]:
    path = tmp / "state" / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _page(client: TestClient, store, tmp: Path) -> tuple[str, dict]:
    """Fire a payments page; once the notifier posted it and looked for evidence, give it the evidence
    of a deploy (as gathered from Prometheus in the drill) so it offers Roll back to 1.4.2."""
    reports = export_request([error_record()]).SerializeToString()  # the SDK's reports arrive first
    assert client.post("/v1/logs", content=reports, headers={"Authorization": f"Bearer {TOKEN}",
                                                             "Content-Type": "application/x-protobuf"}).status_code == 200
    now = datetime.now(timezone.utc)
    body = {"version": "4", "groupKey": '{}:{alertname="PaymentsAvailabilityBudgetBurn"}', "truncatedAlerts": 0,
            "status": "firing", "receiver": "team-payments", "externalURL": "http://127.0.0.1:9093",
            "groupLabels": {"alertname": "PaymentsAvailabilityBudgetBurn"},
            "commonLabels": {"alertname": "PaymentsAvailabilityBudgetBurn", "service": "payments", "team": "payments",
                             "severity": "page"}, "commonAnnotations": {},
            "alerts": [{"status": "firing", "labels": {"alertname": "PaymentsAvailabilityBudgetBurn",
                                                       "service": "payments", "team": "payments", "severity": "page"},
                        "annotations": {"summary": "payments is burning"}, "startsAt": (now - timedelta(minutes=2)).isoformat(),
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "f1"}]}
    assert client.post("/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    group_key = body["groupKey"]
    _wait(lambda: store.evidence(group_key), "the notifier's own evidence look-up")
    store.set_evidence(group_key, {
        **store.evidence(group_key), "started_at": time.time() - 120,
        "reports": [], "routes": [], "trace_id": None, "problems": [],
        "deploy": {"version": "1.5.0", "revision": "9b74186" + "0" * 33, "package": "p", "deployed_at": time.time() - 300,
                   "previous": {"version": "1.4.2", "revision": "50fd0a8" + "0" * 33}},
        "rollback": {"from": "1.5.0", "to": "1.4.2"}})
    store.enqueue_refresh(group_key, "evidence")
    app_wake(client, group_key)
    message = _wait(lambda: next((r for r in reversed(_journal(tmp)) if r.get("blocks") and "Roll back to 1.4.2" in
                                  plain_text(r["blocks"])), None), "the page offering Roll back to 1.4.2")
    return group_key, message


def app_wake(client: TestClient, group_key: str) -> None:
    client.app.state.deliverer.wake([group_key])


def _click(message: dict, user_id: str, value: str | None = None) -> bytes:
    button = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e.get("action_id") == "rollback")
    payload = {"type": "block_actions", "user": {"id": user_id, "username": user_id.lower()},
               "channel": {"id": message["channel"]},
               "actions": [{"type": "button", "action_id": "rollback", "value": value or button["value"]}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def _post(client: TestClient, body: bytes, secret: str = SECRET, age: int = 0) -> int:
    stamp = str(int(time.time()) - age)
    return client.post("/slack/interactions", content=body, headers={
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(secret, stamp, body),
        "Content-Type": "application/x-www-form-urlencoded"}).status_code


def test_forged_stale_and_unauthorised_clicks_change_nothing(notifier, tmp_path: Path) -> None:
    client, store, ran = notifier
    group_key, message = _page(client, store, tmp_path)
    body = _click(message, RESPONDER)
    assert _post(client, body, secret="forged-secret") == 401
    assert _post(client, body, age=600) == 401  # replayed outside Slack's 5-minute window
    assert _post(client, _click(message, "UGUEST9")) == 200  # answered, then refused
    button = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e.get("action_id") == "rollback")
    stale = json.dumps({**json.loads(button["value"]), "to": "1.4.1"})
    assert _post(client, _click(message, RESPONDER, value=stale)) == 200
    refusals = _wait(lambda: [r for r in _journal(tmp_path) if r.get("call") == "ephemeral"] if
                     len([r for r in _journal(tmp_path) if r.get("call") == "ephemeral"]) == 2 else None,
                     "two ephemeral refusals")
    assert refusals[0]["user"] == "UGUEST9" and "Only the responders of team *payments*" in refusals[0]["text"]
    assert refusals[1]["user"] == RESPONDER and "out of date" in refusals[1]["text"]
    assert store.rollbacks(group_key) == [] and not ran.exists()
    assert store.action("rollback", f"{json.loads(button['value'])['group']}:1.5.0->1.4.2") is None


def test_an_authorised_click_rolls_back_exactly_once(notifier, tmp_path: Path) -> None:
    client, store, ran = notifier
    group_key, message = _page(client, store, tmp_path)
    body = _click(message, RESPONDER)
    with ThreadPoolExecutor(max_workers=4) as pool:  # a double click plus Slack's retries, at once
        assert list(pool.map(lambda _: _post(client, body), range(4))) == [200] * 4
    [record] = _wait(lambda: [r for r in store.rollbacks(group_key) if r.outcome == "succeeded"] or None,
                     "the rollback finishing")
    assert (record.user_id, record.from_version, record.to_version) == (RESPONDER, "1.5.0", "1.4.2")
    assert _post(client, body) == 200  # pressed again after it ran: the page no longer offers it
    assert ran.read_text() == "1.5.0->1.4.2\n"
    shown = _wait(lambda: next((plain_text(r["blocks"]) for r in reversed(_journal(tmp_path)) if r.get("blocks")
                                and "succeeded" in plain_text(r["blocks"])), None), "the record in the message")
    assert "Roll back of payments from 1.5.0 to 1.4.2 by u0oncall1" in shown and "Roll back to 1.4.2]" not in shown
    replies = [r["text"] for r in _journal(tmp_path) if r.get("thread_ts")]
    assert any("running" in r for r in replies) and any("succeeded" in r for r in replies)
