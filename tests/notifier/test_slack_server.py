"""The Slack stand-in itself: other parts' tests rely on it behaving like Slack where it matters."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.slack_server import SlackServer


@pytest.fixture
def server():
    with SlackServer(token="xoxb-good", rate_limit_per_channel=2) as running:
        yield running


def _client(server: SlackServer, token: str = "xoxb-good") -> WebClient:
    return WebClient(token=token, base_url=server.url, retry_handlers=[])


def _error(call) -> tuple[int, str]:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response.status_code, caught.value.response.get("error")


def test_token_threads_updates_and_metadata(server):
    client = _client(server)
    assert _error(lambda: _client(server, "xoxb-bad").chat_postMessage(channel="#a", text="x")) == (200, "invalid_auth")
    root = client.chat_postMessage(channel="#a", text="root", blocks=[{"type": "divider"}],
                                   metadata={"event_type": "e", "event_payload": {"step": "s1"}})
    assert root["channel"] == server.channel_id("#a") and root["channel"].startswith("C")
    reply = client.chat_postMessage(channel=root["channel"], text="reply", thread_ts=root["ts"])
    client.chat_update(channel=root["channel"], ts=root["ts"], text="root v2")
    assert [m["text"] for m in server.roots("#a")] == ["root v2"]
    assert server.roots("#a")[0]["blocks"] is None, "like Slack, an update without blocks drops them"
    assert [m["ts"] for m in server.replies(root["ts"])] == [reply["ts"]]
    history = client.conversations_history(channel=root["channel"], include_all_metadata=True)
    assert history["messages"][0]["metadata"]["event_payload"] == {"step": "s1"}
    assert "metadata" not in client.conversations_history(channel=root["channel"])["messages"][0]
    assert len(client.conversations_replies(channel=root["channel"], ts=root["ts"])["messages"]) == 2
    assert _error(lambda: client.chat_update(channel=root["channel"], ts="1.2", text="x")) == (200, "message_not_found")
    with pytest.warns(UserWarning, match="text"):  # slack-sdk warns too; the server refuses
        assert _error(lambda: client.chat_postMessage(channel="#a", blocks=[{"type": "divider"}])) == (200, "no_text")


def test_limits_and_injected_faults(server):
    client = _client(server)
    too_many = [{"type": "divider"}] * 51
    assert _error(lambda: client.chat_postMessage(channel="#b", text="x", blocks=too_many)) == (200, "invalid_blocks")
    long_text = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert _error(lambda: client.chat_postMessage(channel="#b", text="x", blocks=long_text)) == (200, "invalid_blocks")
    heavy = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 5
    assert _error(lambda: client.chat_postMessage(channel="#b", text="x", blocks=heavy)) == (200, "msg_blocks_too_long")

    client.chat_postMessage(channel="#c", text="1")
    client.chat_postMessage(channel="#c", text="2")
    status, error = _error(lambda: client.chat_postMessage(channel="#c", text="3"))
    assert (status, error) == (429, "ratelimited")
    assert server.calls("chat.postMessage")[-1].status == 429

    server.fail(503, count=1)
    assert _error(lambda: client.chat_postMessage(channel="#d", text="x"))[0] == 503
    server.rate_limit(count=1, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="#d", text="x")
    assert caught.value.response.headers["Retry-After"] == "7"
    server.fail(error="internal_error", count=1)
    assert _error(lambda: client.chat_postMessage(channel="#d", text="x")) == (200, "internal_error")
    server.missing_channels.add("#gone")
    assert _error(lambda: client.chat_postMessage(channel="#gone", text="x")) == (200, "channel_not_found")
    assert [m["text"] for m in server.messages("#d")] == []
    client.chat_postMessage(channel="#d", text="ok")
    assert [m["text"] for m in server.messages("#d")] == ["ok"]
    upload = client.files_upload_v2(channel=server.channel_id("#d"), file=b"\x89PNG\r\n\x1a\n" + b"0" * 100,
                                    filename="g.png", title="graph")
    assert upload["ok"] and server.files()[0]["png"] and server.files()[0]["shared"]
