"""Item 4 under failure: a 60-second Slack outage, kill -9 at the worst moments, an HA pair."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from tests.notifier.conftest import AlertmanagerProcess, NotifierProcess, alert, settle


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def _mine(notifier, channel: str) -> list[dict]:
    return [d for d in notifier.deliveries() if d["channel"] == channel or channel in str(d["alerts"])]


def test_a_60_second_slack_outage_delays_but_loses_and_duplicates_nothing(stack, slack):
    notifier, am = stack
    channel, name = "#t-outage", "OutageCheck"
    starts = datetime.now(timezone.utc) - timedelta(minutes=2)
    errors_before = notifier.metric("bongsu_notifier_delivery_retries_total", reason="server_error")
    slack.fail(503, seconds=60)
    outage_ends = time.monotonic() + 60
    am.send(alert(name, channel, starts=starts, instance="a"))
    _wait(lambda: len(_mine(notifier, channel)) == 1, 30, "the webhook accepted during the outage")
    am.send(alert(name, channel, starts=starts, instance="b"))
    _wait(lambda: len(_mine(notifier, channel)) == 2, 30, "the group change accepted during the outage")
    assert [d["state"] for d in _mine(notifier, channel)] == ["pending", "pending"]
    assert notifier.metric("bongsu_notifier_queue_depth") >= 2
    assert not slack.messages(channel) and time.monotonic() < outage_ends

    slack.wait_for(lambda s: len(s.roots(channel)) == 1 and len(s.replies(s.roots(channel)[0]["ts"])) == 1,
                   60 + 45, "both deliveries after the outage")
    root = slack.roots(channel)[0]

    def exactly_expected() -> None:
        assert len(slack.roots(channel)) == 1 and len(slack.messages(channel)) == 2
    settle(exactly_expected, 3)
    assert "2 alerts" in root["text"] or "1 joined" in slack.replies(root["ts"])[0]["text"]
    assert [d["state"] for d in _mine(notifier, channel)] == ["delivered", "delivered"]
    assert notifier.metric("bongsu_notifier_delivery_retries_total", reason="server_error") > errors_before + 3


def test_kill_9_between_accepting_and_delivering_and_during_unanswered_posts(slack, tmp_path):
    channel, name = "#t-kill9", "KillCheck"
    # A Prometheus that is not there: graphs are skipped without delaying anything.
    notifier = NotifierProcess(tmp_path, slack, prometheus_url="http://127.0.0.1:9")
    am = AlertmanagerProcess(tmp_path, notifier.url)
    try:
        notifier.start()
        am.start()
        starts = datetime.now(timezone.utc) - timedelta(minutes=2)

        # 1. Accepted (2xx to Alertmanager), not yet delivered, then kill -9.
        slack.fail(503)
        am.send(alert(name, channel, starts=starts, expr="up", instance="a"))
        _wait(lambda: len(notifier.deliveries()) == 1, 30, "the accepted webhook")
        assert notifier.deliveries()[0]["state"] == "pending"
        assert notifier.deliveries(everything=False) == [], "the default list shows delivered ones only"
        notifier.kill()
        slack.heal()
        # 2. After the restart, Slack posts the group's first message but its answer never arrives.
        slack.hang(120, count=1, methods={"chat.postMessage"}, after_record=True)
        notifier.start()  # same state file, same port
        slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the message recorded by Slack")
        time.sleep(0.5)
        assert notifier.deliveries()[0]["state"] == "pending"
        notifier.kill()
        notifier.start()
        _wait(lambda: notifier.deliveries()[0]["state"] == "delivered", 60, "the first message adopted")
        root = slack.roots(channel)[0]
        assert notifier.deliveries()[0]["ts"] == root["ts"]
        _wait(lambda: "graph skipped" in notifier.logs(), 30, "the graph to be skipped")

        # 3. The same for a thread reply; kill -9 while waiting for Slack's answer.
        slack.hang(120, count=1, methods={"chat.postMessage"}, after_record=True)
        am.send(alert(name, channel, starts=starts, expr="up", instance="b"))
        slack.wait_for(lambda s: len(s.replies(root["ts"])) == 1, 60, "the reply recorded by Slack")
        time.sleep(0.5)
        assert notifier.deliveries()[-1]["state"] == "pending"
        notifier.kill()
        notifier.start()
        _wait(lambda: notifier.deliveries()[-1]["state"] == "delivered", 60, "the delivery to be completed")
        assert notifier.logs().count("found an earlier attempt's message; not posting again") == 2

        am.send(alert(name, channel, starts=starts, expr="up", resolved=True, instance="a"),
                alert(name, channel, starts=starts, expr="up", resolved=True, instance="b"))
        slack.wait_for(lambda s: len(s.replies(root["ts"])) == 2, 60, "the resolution")

        def exactly_expected() -> None:
            assert len(slack.roots(channel)) == 1
            texts = [m["text"] for m in slack.replies(root["ts"])]
            assert len(texts) == 2 and "1 joined" in texts[0] and "Resolved after" in texts[1], texts
        settle(exactly_expected, 4)
        deliveries = notifier.deliveries()
        assert [d["state"] for d in deliveries] == ["delivered"] * 3
        assert [d["ts"] for d in deliveries] == [root["ts"]] + [m["ts"] for m in slack.replies(root["ts"])]
        assert slack.roots(channel)[0]["text"].startswith("[RESOLVED] ")
    finally:
        am.stop()
        notifier.stop()


def test_duplicate_sends_from_two_alertmanagers_are_delivered_once(stack, slack, tmp_path):
    notifier, first = stack
    second = AlertmanagerProcess(tmp_path, notifier.url, name="alertmanager-replica").start()
    channel, name = "#t-ha", "HaPairCheck"
    duplicates = lambda: notifier.metric("bongsu_notifier_webhooks_received_total", outcome="duplicate")  # noqa: E731 - a named one-line poll for wait_for
    try:
        starts = datetime.now(timezone.utc) - timedelta(minutes=2)
        before = duplicates()
        both = lambda *alerts: (first.send(*alerts), second.send(*alerts))  # noqa: E731 - a named one-line poll for wait_for
        both(alert(name, channel, starts=starts, instance="a"))
        _wait(lambda: duplicates() >= before + 1, 30, "the replica's copy of the first state")
        both(alert(name, channel, starts=starts, instance="b"))
        _wait(lambda: duplicates() >= before + 2, 30, "the replica's copy of the second state")
        both(alert(name, channel, starts=starts, resolved=True, instance="a"),
             alert(name, channel, starts=starts, resolved=True, instance="b"))
        _wait(lambda: duplicates() >= before + 3, 30, "the replica's copy of the resolution")

        def exactly_expected() -> None:
            roots = slack.roots(channel)
            assert len(roots) == 1
            texts = [m["text"] for m in slack.replies(roots[0]["ts"])]
            assert len(texts) == 2 and "1 joined" in texts[0] and "Resolved after" in texts[1], texts
        slack.wait_for(lambda s: len(s.messages(channel)) == 3, 30, "three messages")
        settle(exactly_expected, 4)
        assert [d["status"] for d in _mine(notifier, channel)] == ["firing", "firing", "resolved"]
    finally:
        second.stop()
