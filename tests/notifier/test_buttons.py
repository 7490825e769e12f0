"""Acknowledge and Silence end to end (a real silence in Alertmanager): signature checks, only the
catalog's responders may act (issue #12 item 5), and a double click acts once."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from notifier import sign
from tests.notifier.conftest import SIGNING_SECRET, alert, settle


def _click(root: dict, action_id: str, user: str, user_id: str | None = None) -> bytes:
    buttons = next(b for b in root["blocks"] if b["type"] == "actions")["elements"]
    button = next(e for e in buttons if e.get("action_id") == action_id)
    payload = {"type": "block_actions",
               "user": {"id": user_id or "U" + user.upper(), "username": user, "name": user},
               "channel": {"id": root["channel_id"]},
               "container": {"type": "message", "message_ts": root["ts"], "channel_id": root["channel_id"]},
               "actions": [{"type": "button", "action_id": action_id, "block_id": "bongsu-actions",
                            "value": button["value"], "action_ts": f"{time.time():.6f}"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(body: bytes, secret: str = SIGNING_SECRET, age: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) - age)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(secret, stamp, body),
            "Content-Type": "application/x-www-form-urlencoded"}


def test_ack_and_silence_buttons_end_to_end(stack, slack):
    notifier, am = stack
    channel, name = "#t-buttons", "ButtonsCheck"
    am.send(alert(name, channel, starts=datetime.now(timezone.utc) - timedelta(minutes=3), instance="a"))
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the group's message")
    root = slack.roots(channel)[0]
    replies = lambda: slack.replies(root["ts"])  # noqa: E731

    ack = _click(root, "ack", "alice")
    assert notifier.post("/slack/interactions", ack, token=None, **_signed(ack)).status_code == 200
    slack.wait_for(lambda s: len(replies()) == 1, 30, "the acknowledgement reply")
    assert replies()[0]["text"] == ":eyes: Acknowledged by <@UALICE>."
    shown = json.dumps(slack.roots(channel)[0]["blocks"])
    assert "acknowledged by <@UALICE>" in shown
    assert '"action_id": "ack"' not in shown, "the Acknowledge button goes once someone acknowledged"

    silence = _click(root, "silence_1h", "bob")
    again = _click(root, "silence_4h", "bob")  # a double click (or a second responder) acts once
    assert notifier.post("/slack/interactions", silence, token=None, **_signed(silence)).status_code == 200
    assert notifier.post("/slack/interactions", again, token=None, **_signed(again)).status_code == 200
    slack.wait_for(lambda s: len(replies()) == 2, 30, "the silence reply")
    assert replies()[1]["text"].startswith(":no_bell: Silenced by <@UBOB> for 1h, until ")

    silences = [s for s in am.silences() if s["status"]["state"] == "active"]
    assert len(silences) == 1, silences
    created = silences[0]
    assert created["createdBy"] == "UBOB", "the stable user ID, not the editable display name"
    assert [(m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in created["matchers"]] == [
        ("alertname", name, True, False)]
    lasts = (datetime.fromisoformat(created["endsAt"].replace("Z", "+00:00"))
             - datetime.fromisoformat(created["startsAt"].replace("Z", "+00:00")))
    assert timedelta(minutes=59) < lasts <= timedelta(hours=1, seconds=5)
    assert created["id"] in replies()[1]["text"]
    assert "silenced by <@UBOB> until" in json.dumps(slack.roots(channel)[0]["blocks"])
    silenced = [a for a in am_alerts(am) if a["labels"]["alertname"] == name]
    assert silenced and silenced[0]["status"]["silencedBy"] == [created["id"]], "Alertmanager applies the silence"

    settle(lambda: (len(slack.roots(channel)) == 1 and len(replies()) == 2) or _fail(slack, channel), 3)


def am_alerts(am) -> list[dict]:
    import httpx

    return httpx.get(f"{am.url}/api/v2/alerts", params={"silenced": "true"}, timeout=10).json()


def _fail(slack, channel):
    raise AssertionError(f"unexpected messages: {[m['text'] for m in slack.messages(channel)]}")


def test_forged_stale_and_unsigned_clicks_are_rejected_without_leaking_the_secret(stack, slack):
    notifier, am = stack
    channel, name = "#t-forged", "ForgedCheck"
    am.send(alert(name, channel, starts=datetime.now(timezone.utc) - timedelta(minutes=3)))
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the group's message")
    root = slack.roots(channel)[0]
    body = _click(root, "ack", "mallory")
    other = _click(root, "silence_4h", "mallory")

    attempts = {
        "wrong secret": _signed(body, secret="not-the-secret"),
        "stale (10 minutes old)": _signed(body, age=600),
        "signature of another body": _signed(other),
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
        "garbage signature": {**_signed(body), "X-Slack-Signature": "v0=deadbeef"},
    }
    for what, headers in attempts.items():
        answer = notifier.post("/slack/interactions", body, token=None, **headers)
        assert answer.status_code == 401, what
        assert SIGNING_SECRET not in answer.text

    settle(lambda: (not slack.replies(root["ts"]) and len(slack.roots(channel)) == 1) or _fail(slack, channel), 2)
    assert not [s for s in am.silences() if s["createdBy"] == "mallory"]
    logs = notifier.logs()
    assert logs.count("Slack interaction rejected") >= len(attempts)
    assert "signature mismatch" in logs and "stale timestamp" in logs and "unsigned request" in logs
    assert SIGNING_SECRET not in logs
    assert "mallory" not in json.dumps(slack.roots(channel)[0]["blocks"])


def test_only_responders_may_press_buttons_and_refusals_are_ephemeral_and_logged(stack, slack):
    notifier, am = stack
    channel, name = "#t-authz", "AuthzCheck"
    am.send(alert(name, channel, starts=datetime.now(timezone.utc) - timedelta(minutes=3), instance="a"))
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the group's message")
    root = slack.roots(channel)[0]

    # A guest whose display name copies a responder's: the ID decides, not the name.
    for action in ("silence_1h", "ack"):
        body = _click(root, action, "alice", user_id="UGUEST1")
        assert notifier.post("/slack/interactions", body, token=None, **_signed(body)).status_code == 200
    slack.wait_for(lambda s: len(s.ephemeral("UGUEST1")) == 2, 30, "two refusals shown to the guest")
    refusal = slack.ephemeral("UGUEST1")[0]
    assert refusal["channel_id"] == root["channel_id"] and "responders" in refusal["text"]
    assert notifier.logs().count("button refused: not a responder") >= 2
    assert not [s for s in am.silences() if s["createdBy"] == "UGUEST1"]

    # A member of a responder user group (usergroups.users.list) may act.
    body = _click(root, "ack", "carol", user_id="UCAROL")
    assert notifier.post("/slack/interactions", body, token=None, **_signed(body)).status_code == 200
    slack.wait_for(lambda s: len(s.replies(root["ts"])) == 1, 30, "the user-group member's ack")
    assert slack.replies(root["ts"])[0]["text"] == ":eyes: Acknowledged by <@UCAROL>."
    settle(lambda: (len(slack.replies(root["ts"])) == 1 and len(slack.ephemeral("UGUEST1")) == 2)
           or _fail(slack, channel), 2)
