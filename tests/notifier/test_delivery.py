"""Item 4 and 5 against the shared stack: 429 storms, pacing, permanent errors, large groups."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

from tests.notifier.conftest import alert, settle
from tests.slack_server import MAX_BLOCKS, MAX_BLOCKS_CHARS


def test_429_storm_waits_for_retry_after_and_delivers_each_group_once(stack, slack):
    notifier, am = stack
    channel = "#t-storm"
    names = [f"StormCheck{i}" for i in range(5)]
    before_429 = len([c for c in slack.calls("chat.postMessage") if c.status == 429])
    retries_before = notifier.metric("bongsu_notifier_delivery_retries_total", reason="rate_limited")
    slack.rate_limit(count=12, retry_after=1)
    starts = datetime.now(timezone.utc) - timedelta(minutes=1)
    am.send(*(alert(name, channel, starts=starts) for name in names))
    slack.wait_for(lambda s: len(s.roots(channel)) == 5, 120, "one message per group after the storm")

    def exactly_expected() -> None:
        roots = slack.roots(channel)
        assert sorted(r["text"].split(" ")[1] for r in roots) == names, [r["text"] for r in roots]
        assert not [m for m in slack.messages(channel) if m not in roots]
    settle(exactly_expected, 3)
    posts = [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == channel]
    for refused, following in zip(posts, posts[1:]):
        if refused.status == 429:  # Retry-After: 1 was honoured before the channel was tried again
            assert following.at - refused.at >= 0.9, (refused, following)
    answered_429 = len([c for c in slack.calls("chat.postMessage") if c.status == 429]) - before_429
    # Only the injected storm: pacing kept five groups in one channel under Slack's per-channel limit.
    assert answered_429 == 12
    assert notifier.metric("bongsu_notifier_delivery_retries_total", reason="rate_limited") - retries_before == 12


def test_permanent_channel_error_falls_back_to_the_default_channel(stack, slack):
    notifier, am = stack
    slack.missing_channels.add("#t-gone")
    failures_before = notifier.metric("bongsu_notifier_delivery_failures_total", error="channel_not_found")
    am.send(alert("FallbackCheck", "#t-gone", starts=datetime.now(timezone.utc)))
    slack.wait_for(lambda s: any("FallbackCheck" in m["text"] for m in s.roots("#alerts")), 60,
                   "the message in the catalog's default channel")
    assert not slack.messages("#t-gone")
    assert notifier.metric("bongsu_notifier_delivery_failures_total", error="channel_not_found") == failures_before + 1
    assert "posting to the default channel instead" in notifier.logs()
    settle(lambda: len([m for m in slack.messages("#alerts") if "FallbackCheck" in m["text"]]) == 1 or _no(), 2)


def _no():
    raise AssertionError("the fallback message was posted more than once")


def test_hundreds_of_alerts_stay_inside_block_kit_limits(stack, slack):
    notifier, am = stack
    channel, name = "#t-large", "LargeGroupCheck"
    starts = datetime.now(timezone.utc) - timedelta(minutes=5)
    am.send(*(alert(name, channel, starts=starts, instance=f"host-{i:03d}.example.internal", pod=f"pod-{i}")
              for i in range(300)))
    # Alertmanager may flush the group before it has ingested all 300; the message then grows in place.
    slack.wait_for(lambda s: any("(300 alerts)" in r["text"] for r in s.roots(channel)), 60,
                   "the large group's message with all 300 alerts")
    assert len(slack.roots(channel)) == 1
    root = slack.roots(channel)[0]
    assert root["text"].startswith("[FIRING] LargeGroupCheck (300 alerts)")
    assert len(root["blocks"]) <= MAX_BLOCKS and len(json.dumps(root["blocks"])) < MAX_BLOCKS_CHARS
    sections = [b["text"]["text"] for b in root["blocks"] if b["type"] == "section" and b.get("text")]
    assert all(len(text) <= 3000 for text in sections)
    shown = sum(text.count("host-") for text in sections)
    assert 10 < shown < 300
    assert sections[-1].endswith(f"... and {300 - shown} more")
    failed = [d for d in notifier.deliveries() if d["channel"] == channel and d["state"] != "delivered"]
    assert not failed


def test_graph_of_the_expression_is_posted_in_the_thread(stack, slack):
    notifier, am = stack
    channel = "#t-graph"
    am.send(alert("GraphCheck", channel, starts=datetime.now(timezone.utc), expr='up{job="prometheus"}'))
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the group's message")
    root = slack.roots(channel)[0]
    slack.wait_for(lambda s: any(f.get("thread_ts") == root["ts"] and f["shared"] for f in s.files()), 60,
                   "the graph in the thread")
    graph = next(f for f in slack.files() if f.get("thread_ts") == root["ts"])
    assert graph["png"] and graph["size"] > 1000 and graph["channel_id"] == root["channel_id"]
    assert notifier.metric("bongsu_notifier_deliveries_total", method="files_upload_v2") >= 1


def test_permanent_error_without_fallback_is_logged_counted_and_recorded(stack, slack):
    notifier, am = stack
    slack.refused_channels["#t-noauth"] = "invalid_auth"  # as Slack answers a revoked token
    before = notifier.metric("bongsu_notifier_delivery_failures_total", error="invalid_auth")
    am.send(alert("NoAuthCheck", "#t-noauth", starts=datetime.now(timezone.utc)))
    deadline = time.monotonic() + 60
    while not [d for d in notifier.deliveries() if d["channel"] == "#t-noauth" and d["state"] == "failed"]:
        assert time.monotonic() < deadline, "the delivery was not marked failed"
        time.sleep(0.2)
    failed = next(d for d in notifier.deliveries() if d["channel"] == "#t-noauth")
    assert failed["error"] == "invalid_auth" and failed["delivered_at"] is None
    assert notifier.metric("bongsu_notifier_delivery_failures_total", error="invalid_auth") == before + 1
    assert "permanent Slack error; delivery dropped" in notifier.logs()
    assert not [m for m in slack.messages() if "NoAuthCheck" in m["text"]], "invalid_auth has no fallback"
    assert not [d for d in notifier.deliveries(everything=False) if d["channel"] == "#t-noauth"]


def test_a_channel_that_refuses_the_thread_later_moves_the_group_to_the_default_channel(stack, slack):
    """The bot is removed from the channel after the first post: the resolution is not lost."""
    notifier, am = stack
    channel, name = "#t-removed", "RemovedCheck"
    starts = datetime.now(timezone.utc) - timedelta(minutes=2)
    am.send(alert(name, channel, starts=starts))
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the group's first message")
    for refused in (channel, slack.channel_id(channel)):
        slack.refused_channels[refused] = "not_in_channel"
    try:
        am.send(alert(name, channel, starts=starts, resolved=True))
        slack.wait_for(lambda s: any(name in m["text"] and m["text"].startswith("[RESOLVED]")
                                     for m in s.roots("#alerts")), 60, "the resolved group in the default channel")
        moved = next(m for m in slack.roots("#alerts") if name in m["text"])
        slack.wait_for(lambda s: len(s.replies(moved["ts"])) == 1, 30, "the resolution in the new thread")
        assert "Resolved after" in slack.replies(moved["ts"])[0]["text"]
        assert "moving the group to the default channel" in notifier.logs()
        settle(lambda: (len([m for m in slack.roots("#alerts") if name in m["text"]]) == 1
                        and len(slack.messages(channel)) == 1) or _no(), 2)
    finally:
        for refused in (channel, slack.channel_id(channel)):
            slack.refused_channels.pop(refused, None)
