"""Three real notifier replicas on one PostgreSQL, against the strict Slack stand-in (issue #12 item 7).

kill -9 of the lane's owner while Slack's answer to its post is lost, a restart, HA-pair duplicates
sent to different replicas, a stale firing retry after the resolve, and double clicks on two
replicas: always exactly one message per group, ending in the right state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from tests.notifier.conftest import NotifierProcess, settle
from tests.notifier.test_buttons import _click, _signed
from tests.slack_server import SlackServer

CHANNEL = "#t-replicas"
GROUP_KEY = '{}/{team="payments"}:{alertname="ReplicaCheck"}'


def _payload(status: str, instances: list[str], starts: datetime, resolved_at: datetime | None = None) -> bytes:
    alerts = [{"status": status, "labels": {"alertname": "ReplicaCheck", "slack_channel": CHANNEL,
                                            "team": "payments", "instance": i},
               "annotations": {"summary": "ReplicaCheck is burning"}, "startsAt": starts.isoformat(),
               "endsAt": (resolved_at or datetime(1, 1, 1, tzinfo=timezone.utc)).isoformat(),
               "generatorURL": "", "fingerprint": f"fp-{i}"} for i in instances]
    return json.dumps({"version": "4", "groupKey": GROUP_KEY, "status": status, "receiver": "team-payments",
                       "groupLabels": {"alertname": "ReplicaCheck"},
                       "commonLabels": {"alertname": "ReplicaCheck", "slack_channel": CHANNEL, "team": "payments"},
                       "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9", "truncatedAlerts": 0,
                       "alerts": alerts}).encode()


def _wait(predicate, timeout: float, what) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        time.sleep(0.2)


@pytest.fixture
def strict_slack() -> Iterator[SlackServer]:
    from tests.notifier.conftest import SLACK_TOKEN, USERGROUPS

    with SlackServer(token=SLACK_TOKEN, usergroups=USERGROUPS, channels={CHANNEL, "#alerts"}) as server:
        yield server


def _owner(url: str, lane: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT owner FROM leases WHERE lane=%s AND expires_at > now()", (lane,)).fetchone()
    return row[0] if row else None


def test_three_replicas_deliver_exactly_once_through_kill_9_lost_answers_restarts_and_double_clicks(
        postgres_url: str, strict_slack: SlackServer, tmp_path):
    slack = strict_slack
    replicas = [NotifierProcess(tmp_path / f"r{i}", slack, name=f"replica-{i}", store=postgres_url)
                for i in range(3)]
    try:
        for replica in replicas:
            replica.start()
        starts = datetime.now(timezone.utc) - timedelta(minutes=2)

        # 1. The first post reaches Slack but its answer is lost; the owner is killed meanwhile.
        slack.hang(120, count=1, methods={"chat.postMessage"}, after_record=True)
        first = _payload("firing", ["a"], starts)
        answers = [r.post("/alertmanager", first).json()["status"] for r in replicas[:2]]
        assert sorted(answers) == ["accepted", "duplicate"], "an HA pair's two copies become one state"
        slack.wait_for(lambda s: len(s.roots(CHANNEL)) == 1, 60, "the first message recorded by Slack")
        assert slack.calls("conversations.list"), "the channel name was resolved to an ID before posting"
        with psycopg.connect(postgres_url) as conn:
            persisted = conn.execute("SELECT channel_id FROM groups").fetchall()
        assert persisted == [(slack.channel_id(CHANNEL),)], "the channel ID is persisted before the first post"
        owner = _owner(postgres_url, CHANNEL)
        victim = next(r for r in replicas if owner and f"-{r.child.process.pid}-" in owner)
        victim.kill()
        killed_at = time.monotonic()
        survivors = [r for r in replicas if r is not victim]
        _wait(lambda: survivors[0].deliveries()[0]["state"] == "delivered", 60,
              lambda: f"a survivor to take over; deliveries {survivors[0].deliveries()}")
        takeover_s = time.monotonic() - killed_at
        adopted = [r for r in survivors if "found an earlier attempt's message; not posting again" in r.logs()]
        assert len(adopted) == 1, "the new owner looked the uncertain post up instead of posting again"
        root = slack.roots(CHANNEL)[0]
        assert survivors[0].deliveries()[0]["ts"] == root["ts"]

        # 2. The killed replica comes back; HA duplicates of the next state reach two replicas at once.
        victim.start()
        second = _payload("firing", ["a", "b"], starts)
        outcomes: list[str] = []
        threads = [threading.Thread(target=lambda r=r: outcomes.append(r.post("/alertmanager", second)
                                                                      .json()["status"])) for r in replicas[1:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["accepted", "duplicate"]
        slack.wait_for(lambda s: len(s.replies(root["ts"])) == 1, 60, "the group change in the thread")

        # 3. Double clicks on two replicas: one acknowledgement.
        clicks = [_click(slack.roots(CHANNEL)[0], "ack", "alice") for _ in range(2)]
        for replica, body in zip(replicas[:2], clicks):
            assert replica.post("/slack/interactions", body, token=None, **_signed(body)).status_code == 200
        slack.wait_for(lambda s: len(s.replies(root["ts"])) == 2, 60, "the acknowledgement")

        # 4. The resolve, then a stale firing retry (an HA twin's late copy) on another replica.
        resolved = _payload("resolved", ["a", "b"], starts, resolved_at=datetime.now(timezone.utc))
        assert replicas[0].post("/alertmanager", resolved).json()["status"] == "accepted"
        slack.wait_for(lambda s: len(s.replies(root["ts"])) == 3, 60, "the resolution")
        assert replicas[2].post("/alertmanager", second).json()["status"] == "duplicate"
        stale = _payload("firing", ["b"], starts)
        assert replicas[2].post("/alertmanager", stale).json()["status"] == "accepted"
        _wait(lambda: any(d["state"] == "superseded" for d in replicas[1].deliveries()), 60,
              lambda: f"the stale state to be skipped; deliveries {replicas[1].deliveries()}")

        def exactly_expected() -> None:
            roots = slack.roots(CHANNEL)
            assert len(roots) == 1, [m["text"] for m in roots]
            texts = [m["text"] for m in slack.replies(roots[0]["ts"])]
            assert len(texts) == 3, texts
            assert "1 joined" in texts[0] and texts[1] == ":eyes: Acknowledged by <@UALICE>."
            assert "Resolved after" in texts[2]
            assert roots[0]["text"].startswith("[RESOLVED] ")
        settle(exactly_expected, 4)
        states = [d["state"] for d in replicas[0].deliveries()]
        assert states == ["delivered", "delivered", "delivered", "superseded"], states
        for replica in replicas:
            if replica.child.alive:
                assert postgres_url.split(":")[2].split("@")[0] not in replica.logs(), "no password in logs"
        print(f"takeover after kill -9: {takeover_s:.1f}s")
    finally:
        for replica in replicas:
            replica.stop()
