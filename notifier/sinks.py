"""Where rendered messages go: Slack through slack-sdk, or (without a bot token) the terminal.

Both answer the same four calls and signal trouble the same way, so the delivery loop does not
care which one it drives: `RetryLater` for a transient problem, `PermanentError` for one that
retrying cannot fix.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

METADATA_EVENT = "bongsu_delivery"
# Slack errors worth another try; every other `ok: false` answer is permanent.
RETRYABLE_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
                    "team_added_to_org"}
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,12}$")
Blocks = list[dict[str, Any]]  # Block Kit JSON, as Slack takes it
CHANNEL_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}


class RetryLater(Exception):
    """Transient: try again after `after` seconds (Retry-After) or a backoff when None.

    `uncertain` means the request may have reached Slack, so the next attempt must first look for it.
    """

    def __init__(self, reason: str, after: float | None = None, uncertain: bool = False,
                 method: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.after, self.uncertain, self.method = reason, after, uncertain, method


class PermanentError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Posted:
    channel_id: str
    ts: str


class Sink(Protocol):
    method_post: str
    method_update: str

    def post(self, channel: str, text: str, blocks: Blocks | None, thread_ts: str | None,
             step_id: str) -> Posted: ...

    def update(self, channel_id: str, ts: str, text: str, blocks: Blocks) -> None: ...

    def find(self, channel_id: str, step_id: str, thread_ts: str | None, oldest: float) -> Posted | None:
        """The message carrying `step_id` posted since `oldest`, or None once the look-up has really
        answered that it is not there. RetryLater (429, outage) means: still uncertain."""

    def channel_directory(self) -> dict[str, str]:
        """Every channel the bot can see, `#name` -> ID (paged through `conversations.list`)."""

    def upload(self, channel_id: str, thread_ts: str, png: bytes, title: str) -> None: ...

    def ephemeral(self, channel: str, user_id: str, text: str) -> None:
        """A message only `user_id` sees (a refused button click)."""


class SlackSink:
    """slack-sdk's WebClient with its own retries switched off: the outbox does the retrying."""

    method_post = "chat.postMessage"
    method_update = "chat.update"

    def __init__(self, token: str, base_url: str, timeout: float) -> None:
        self._client = WebClient(token=token, base_url=base_url if base_url.endswith("/") else base_url + "/",
                                 timeout=int(max(1, timeout)), retry_handlers=[])

    def _call(self, method: str, **kwargs: Any) -> SlackResponse:
        try:
            answer: SlackResponse = getattr(self._client, method)(**kwargs)
            return answer
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if status == 429:
                raise RetryLater("rate_limited", after=_retry_after(exc.response.headers)) from None
            if status >= 500:
                raise RetryLater("server_error", uncertain=True) from None
            if error in RETRYABLE_ERRORS:
                raise RetryLater(f"slack_{error}", uncertain=True) from None
            raise PermanentError(error or f"http_{status}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError):
            raise RetryLater("network", uncertain=True) from None
        except SlackClientError as exc:
            raise PermanentError(type(exc).__name__) from None

    def post(self, channel: str, text: str, blocks: Blocks | None, thread_ts: str | None,
             step_id: str) -> Posted:
        answer = self._call("chat_postMessage", channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                            metadata={"event_type": METADATA_EVENT, "event_payload": {"step": step_id}})
        return Posted(channel_id=answer["channel"], ts=answer["ts"])

    def update(self, channel_id: str, ts: str, text: str, blocks: Blocks) -> None:
        self._call("chat_update", channel=channel_id, ts=ts, text=text, blocks=blocks)

    def find(self, channel_id: str, step_id: str, thread_ts: str | None, oldest: float) -> Posted | None:
        """Look for a message an earlier, unanswered attempt may have posted (by its metadata), page by page."""
        cursor = None
        while True:
            common = dict(channel=channel_id, limit=200, include_all_metadata=True, cursor=cursor,
                          oldest=f"{max(0.0, oldest):.6f}")
            answer = (self._call("conversations_replies", ts=thread_ts, **common) if thread_ts
                      else self._call("conversations_history", **common))
            messages: list[dict[str, Any]] = answer.get("messages", [])
            for message in messages:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("step") == step_id:
                    return Posted(channel_id=answer.get("channel") or channel_id, ts=message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def channel_directory(self) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            answer = self._call("conversations_list", types="public_channel,private_channel", limit=200,
                                exclude_archived=True, cursor=cursor)
            channels: list[dict[str, Any]] = answer.get("channels", [])
            found.update({"#" + c["name"]: c["id"] for c in channels if c.get("name")})
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    @property
    def client(self) -> WebClient:
        return self._client

    def ephemeral(self, channel: str, user_id: str, text: str) -> None:
        self._call("chat_postEphemeral", channel=channel, user=user_id, text=text)

    def upload(self, channel_id: str, thread_ts: str, png: bytes, title: str) -> None:
        self._call("files_upload_v2", channel=channel_id, thread_ts=thread_ts, file=png,
                   filename="graph.png", title=title)


def _retry_after(headers: Mapping[str, Any]) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After") or headers.get("retry-after") or 1))
    except (TypeError, ValueError):
        return 1.0


class TerminalSink:
    """The offline default: a readable rendering on stdout plus one JSON line per call in a file."""

    method_post = method_update = "terminal"

    def __init__(self, journal: Path, out: TextIO | None = None) -> None:
        self.journal = journal
        self._out = out or sys.stdout
        self._lock = threading.Lock()
        self._last_ts = 0.0

    def _ts(self) -> str:
        stamp = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = stamp
        return f"{stamp:.6f}"

    def _append(self, record: dict[str, Any]) -> None:
        try:
            with open(self.journal, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, separators=(",", ":")) + "\n")
                handle.flush()
        except OSError as exc:
            raise RetryLater(f"journal_{type(exc).__name__}", uncertain=True) from None

    def _print(self, heading: str, text: str, blocks: Blocks | None) -> None:
        body = plain_text(blocks) if blocks else text
        try:
            self._out.write(f"\n── {heading} ──\n{body}\n")
            self._out.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not stop the JSON-lines record

    def post(self, channel: str, text: str, blocks: Blocks | None, thread_ts: str | None,
             step_id: str) -> Posted:
        with self._lock:
            ts = self._ts()
            self._append({"call": "post", "channel": channel, "ts": ts, "thread_ts": thread_ts, "step": step_id,
                          "text": text, "blocks": blocks, "at": time.time()})
            self._print(f"{channel} · {'reply in thread ' + thread_ts if thread_ts else 'new message'} · {ts}",
                        text, blocks)
        return Posted(channel_id=channel, ts=ts)

    def update(self, channel_id: str, ts: str, text: str, blocks: Blocks) -> None:
        with self._lock:
            self._append({"call": "update", "channel": channel_id, "ts": ts, "text": text, "blocks": blocks,
                          "at": time.time()})
            self._print(f"{channel_id} · message {ts} updated", text, blocks)

    def channel_directory(self) -> dict[str, str]:
        return {}  # the journal names channels as given

    def find(self, channel_id: str, step_id: str, thread_ts: str | None, oldest: float) -> Posted | None:
        try:
            with open(self.journal, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short by a crash
                    if record.get("step") == step_id:
                        return Posted(channel_id=record["channel"], ts=record["ts"])
        except FileNotFoundError:
            return None
        return None

    def upload(self, channel_id: str, thread_ts: str, png: bytes, title: str) -> None:
        raise PermanentError("offline: graphs are posted only to Slack")

    def ephemeral(self, channel: str, user_id: str, text: str) -> None:
        with self._lock:
            self._append({"call": "ephemeral", "channel": channel, "user": user_id, "text": text, "at": time.time()})
            self._print(f"{channel} · only {user_id} sees this", text, None)


_MRKDWN = re.compile(r"[*`]|:[a-z_]+:")


def plain_text(blocks: Blocks) -> str:
    """Block Kit as plain lines for a terminal: headers, sections, fields, context and buttons."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(block["text"]["text"])
        elif kind == "section":
            if block.get("text"):
                lines.append(_clean(block["text"]["text"]))
            if block.get("fields"):
                lines.append("  ".join(_clean(f["text"]).replace("\n", ": ", 1) for f in block["fields"]))
        elif kind == "context":
            lines.append(" ".join(_clean(e.get("text", "")) for e in block["elements"]))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            lines.append(" ".join(f"[{e['text']['text']}" + (f" {e['url']}]" if e.get("url") else "]")
                                  for e in block["elements"]))
    return "\n".join(lines)


def _clean(text: str) -> str:
    return _MRKDWN.sub("", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
