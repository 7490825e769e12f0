"""Item 2: one message per group that follows the group's life, driven by a real Alertmanager."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.notifier.conftest import alert, settle


def _steps(slack) -> list[str]:
    return [(m["metadata"] or {}).get("event_payload", {}).get("step") for m in slack.messages()]


def test_firing_changes_resolve_and_refire_live_in_one_message(stack, slack):
    notifier, am = stack
    channel, name = "#t-lifecycle", "LifecycleCheck"
    t0 = datetime.now(timezone.utc) - timedelta(minutes=10)

    am.send(alert(name, channel, starts=t0, instance="a"))
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the group's first message")
    root = slack.roots(channel)[0]
    assert root["text"].startswith("[FIRING] ") and root["blocks"], root
    replies = lambda: slack.replies(root["ts"])  # noqa: E731 - a named one-line poll for wait_for

    am.send(alert(name, channel, starts=t0 + timedelta(minutes=1), instance="b"))
    slack.wait_for(lambda s: len(replies()) == 1, 60, "a reply for the alert that joined")
    am.send(alert(name, channel, starts=t0 + timedelta(minutes=1), resolved=True, instance="b"))
    slack.wait_for(lambda s: len(replies()) == 2, 60, "a reply for the alert that left")
    am.send(alert(name, channel, starts=t0, resolved=True, instance="a"))
    slack.wait_for(lambda s: len(replies()) == 3, 60, "the resolution reply")
    assert slack.roots(channel)[0]["text"].startswith("[RESOLVED] ")

    am.send(alert(name, channel, starts=datetime.now(timezone.utc), instance="a"))
    slack.wait_for(lambda s: len(replies()) == 4, 60, "the refire reply in the same thread")

    def exactly_expected() -> None:
        roots = slack.roots(channel)
        assert len(roots) == 1, "a group keeps one message, also after resolving and refiring"
        texts = [m["text"] for m in replies()]
        assert len(texts) == 4, texts
        assert "1 joined" in texts[0] and "instance=b" in texts[0]
        assert "1 resolved" in texts[1] and "instance=b" in texts[1]
        assert texts[2].startswith(":white_check_mark: Resolved after")
        assert texts[3].startswith(":repeat: Firing again")
    settle(exactly_expected, 5)

    final = slack.roots(channel)[0]
    assert final["text"].startswith("[FIRING] ")
    assert len(final["edits"]) == 4, "the root message is updated in place for every change"
    assert [e["text"].split(" ")[0] for e in final["edits"]] == ["[FIRING]", "[FIRING]", "[FIRING]", "[RESOLVED]"]
    mine = [d for d in notifier.deliveries() if d["channel"] == channel]
    assert [d["status"] for d in mine] == ["firing", "firing", "firing", "resolved", "firing"]
    assert all(d["state"] == "delivered" and d["thread_ts"] == root["ts"] for d in mine)
    assert [d["ts"] for d in mine] == [root["ts"]] + [m["ts"] for m in replies()]
    steps = [s for s in _steps(slack) if s]
    assert len(steps) == len(set(steps)), "no Slack message was posted twice"
