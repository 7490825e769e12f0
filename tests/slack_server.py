"""A Slack-compatible Web API server for tests and benchmarks (the one outside service we stand in for).

It speaks the subset of the Web API that Bongsu uses, the way Slack does: every method is a POST
to `<base>/<method>` with JSON or form bodies, answers `{"ok": ...}`, and checks the bearer token.
It enforces Slack's per-channel posting limit with HTTP 429 and `Retry-After`, rejects messages
that break Block Kit limits, and can be told to fail, hang or answer 429 on demand.

Usage:

    with SlackServer(token="xoxb-test") as slack:       # starts on a free loopback port
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.url}
        ...
        slack.wait_for(lambda s: len(s.messages()) == 2, timeout=30)
        slack.roots("#alerts"); slack.replies(root_ts)   # what a person would see
        slack.fail(status=503, seconds=60)               # an outage
        slack.rate_limit(count=20, retry_after=1)        # a 429 storm
        slack.hang(seconds=30, count=1, after_record=True)  # Slack posts, the answer never comes

Methods: auth.test, chat.postMessage, chat.postEphemeral, chat.update, conversations.history,
conversations.replies, usergroups.users.list,
files.getUploadURLExternal (+ the upload URL), files.completeUploadExternal, files.info. Incoming
webhooks (what Alertmanager's native `slack_configs` posts to) are accepted at `webhook_url`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bongsu.processes import free_port

# Block Kit limits Slack enforces (docs), and the practical total above which Slack answers
# msg_blocks_too_long (observed around 13k characters; we reject from 12k).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCKS_CHARS = 12000
POSTING_METHODS = {"chat.postMessage"}
# Per-method, per-workspace limits (calls per minute) for the look-up methods, as Slack's tiers.
METHOD_LIMITS_PER_MINUTE = {"conversations.history": 50, "conversations.replies": 50, "conversations.list": 20}
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,12}$")


@dataclass
class Fault:
    """A failure to inject: `status` (HTTP) or `error` (ok:false), or a hang of `hang` seconds."""

    status: int | None = None
    error: str | None = None
    hang: float = 0.0
    after_record: bool = False
    retry_after: int | None = None
    methods: set[str] | None = None
    count: int | None = None
    until: float | None = None

    def applies(self, method: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.count is not None and self.count <= 0:
            return False
        return self.methods is None or method in self.methods


@dataclass
class Call:
    method: str
    status: int
    ok: bool
    error: str | None
    at: float
    params: dict = field(repr=False, default_factory=dict)


class SlackServer:
    def __init__(self, token: str = "fake-bot-token", *, rate_limit_per_channel: int = 3,
                 rate_window_s: float = 1.0, missing_channels: set[str] | None = None,
                 refused_channels: dict[str, str] | None = None,
                 usergroups: dict[str, list[str]] | None = None, channels: set[str] | None = None,
                 method_limits: dict[str, int] | None = None, page_size: int = 15) -> None:
        self.token = token
        # Channels that exist before anything is posted (conversations.list knows them); a post to a
        # new name creates it, as a test's convenience.
        self._channels: dict[str, str] = {}
        for name in channels or ():
            self._channels[self.channel_id(name)] = name.lstrip("#")
        self.method_limits = dict(METHOD_LIMITS_PER_MINUTE if method_limits is None else method_limits)
        self.page_size = page_size
        self._method_calls: dict[str, deque] = defaultdict(deque)
        self.usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        self._ephemeral: list[dict] = []
        self.rate_limit_per_channel = rate_limit_per_channel
        self.rate_window_s = rate_window_s
        self.missing_channels = set(missing_channels or ())
        self.refused_channels = dict(refused_channels or {})
        self.port = free_port()
        self._lock = threading.Lock()
        self._messages: list[dict] = []
        self._native: list[dict] = []
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._posts: dict[str, deque] = defaultdict(deque)
        self._uploads: dict[str, bytes] = {}
        self._files: dict[str, dict] = {}
        self._clock = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition(self._lock)

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL for SLACK_API_URL / WebClient(base_url=...)."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        """An incoming-webhook URL, for Alertmanager's native `slack_configs.api_url`."""
        return f"http://127.0.0.1:{self.port}/services/T000/B000/native"

    def start(self) -> SlackServer:
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=1, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="slack-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the Slack test server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> SlackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- fault injection ------------------------------------------------------------------------------

    def fail(self, status: int | None = 503, *, error: str | None = None, seconds: float | None = None,
             count: int | None = None, methods: set[str] | None = None) -> None:
        """Answer HTTP `status` (or 200 with ok:false `error`) for `seconds` or `count` calls (or until heal)."""
        self._add(Fault(status=None if error else status, error=error, count=count, methods=methods,
                        until=time.monotonic() + seconds if seconds else None))

    def hang(self, seconds: float, *, count: int | None = None, methods: set[str] | None = None,
             after_record: bool = False) -> None:
        """Do not answer for `seconds`; with `after_record`, the message is posted first (a lost answer)."""
        self._add(Fault(hang=seconds, count=count, methods=methods, after_record=after_record))

    def rate_limit(self, count: int, retry_after: int = 1, methods: set[str] | None = None) -> None:
        """A 429 storm: the next `count` calls answer 429 with Retry-After."""
        self._add(Fault(status=429, retry_after=retry_after, count=count,
                        methods=methods or {"chat.postMessage", "chat.update"}))

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str) -> Fault | None:
        now = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if f.until is None or now < f.until]
            for fault in self._faults:
                if fault.applies(method, now):
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    # --- inspection -------------------------------------------------------------------------------------

    def messages(self, channel: str | None = None) -> list[dict]:
        """Every message as it looks now (after updates), oldest first; each with its `edits` history."""
        with self._lock:
            found = [m for m in self._messages if channel is None or channel in (m["channel"], m["channel_id"])]
            return copy.deepcopy(found)

    def roots(self, channel: str | None = None) -> list[dict]:
        return [m for m in self.messages(channel) if not m["thread_ts"] or m["thread_ts"] == m["ts"]]

    def replies(self, thread_ts: str) -> list[dict]:
        return [m for m in self.messages() if m["thread_ts"] == thread_ts and m["ts"] != thread_ts]

    def native(self) -> list[dict]:
        """Incoming-webhook posts (Alertmanager's own slack_configs)."""
        with self._lock:
            return copy.deepcopy(self._native)

    def ephemeral(self, user: str | None = None) -> list[dict]:
        """Messages only one user saw (`chat.postEphemeral`), oldest first."""
        with self._lock:
            return [dict(m) for m in self._ephemeral if user is None or m["user"] == user]

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def files(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._files.values()))

    def wait_for(self, predicate: Callable[[SlackServer], bool], timeout: float, what: str = "") -> None:
        """Block until `predicate(self)` holds; AssertionError with the messages seen on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                texts = [(m["channel"], m["thread_ts"] != m["ts"] and bool(m["thread_ts"]), m["text"][:80])
                         for m in self.messages()]
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; "
                                     f"messages so far: {texts}")
            with self._changed:
                self._changed.wait(timeout=min(0.2, remaining))

    # --- the API ------------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/{method}", self._api, methods=["POST", "GET"]),
            Route("/upload/{file_id}", self._upload, methods=["POST"]),
            Route("/services/{path:path}", self._incoming_webhook, methods=["POST"]),
        ])

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = dict(request.query_params)
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        try:
            if content_type.startswith("application/json") and body:
                params.update(json.loads(body))
            elif body:
                params.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
        except (ValueError, UnicodeDecodeError):
            return self._answer(method, {"ok": False, "error": "invalid_json"}, params)

        fault = self._take_fault(method)
        if fault and fault.hang and not fault.after_record:
            await asyncio.sleep(fault.hang)
        elif fault and fault.status:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            error = "ratelimited" if fault.status == 429 else "service_unavailable"
            return self._answer(method, {"ok": False, "error": error}, params, status=fault.status, headers=headers)
        elif fault and fault.error:
            return self._answer(method, {"ok": False, "error": fault.error}, params)

        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else params.get("token")
        if token != self.token:
            return self._answer(method, {"ok": False, "error": "not_authed" if not token else "invalid_auth"}, params)

        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._answer(method, {"ok": False, "error": "unknown_method"}, params, status=404)
        result = handler(params, request)
        if isinstance(result, tuple):  # (status, headers, body) for limits
            status, headers, answer = result
            return self._answer(method, answer, params, status=status, headers=headers)
        if fault and fault.hang and fault.after_record:
            await asyncio.sleep(fault.hang)
        return self._answer(method, result, params)

    def _answer(self, method: str, answer: dict, params: dict, status: int = 200,
                headers: dict | None = None) -> Response:
        with self._changed:
            self._calls.append(Call(method, status, bool(answer.get("ok")), answer.get("error"), time.time(), params))
            self._changed.notify_all()
        return JSONResponse(answer, status_code=status, headers=headers)

    def channel_id(self, channel: str) -> str:
        if channel.startswith(("C", "G", "D")) and channel[1:].isalnum() and channel.isupper():
            return channel
        return "C" + hashlib.sha1(channel.lstrip("#").encode()).hexdigest()[:9].upper()

    def _channel_name(self, channel_id: str) -> str:
        with self._lock:
            if channel_id in self._channels:
                return "#" + self._channels[channel_id]
            for message in self._messages:
                if message["channel_id"] == channel_id:
                    return message["channel"]
        return channel_id

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    @staticmethod
    def _blocks(params: dict) -> list | None:
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        return blocks

    @staticmethod
    def block_kit_error(blocks: list | None) -> str | None:
        """Slack's answer for blocks over its limits, or None."""
        if not blocks:
            return None
        if len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        for block in blocks:
            kind = block.get("type")
            if kind == "header" and len(block["text"]["text"]) > MAX_HEADER_TEXT:
                return "invalid_blocks"
            if kind == "section":
                if block.get("text") and len(block["text"]["text"]) > MAX_SECTION_TEXT:
                    return "invalid_blocks"
                fields = block.get("fields") or []
                if len(fields) > MAX_FIELDS or any(len(f["text"]) > MAX_FIELD_TEXT for f in fields):
                    return "invalid_blocks"
        if len(json.dumps(blocks)) > MAX_BLOCKS_CHARS:
            return "msg_blocks_too_long"
        return None

    def _rate_limited(self, channel_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            window = self._posts[channel_id]
            while window and now - window[0] > self.rate_window_s:
                window.popleft()
            if len(window) >= self.rate_limit_per_channel:
                return True
            window.append(now)
        return False

    def _m_auth_test(self, params, request) -> dict:
        return {"ok": True, "team": "Bongsu Test", "user": "bongsu", "bot_id": "B0TEST"}

    def _m_chat_postMessage(self, params, request):
        channel = params.get("channel") or ""
        if not channel or channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.refused_channels:
            return {"ok": False, "error": self.refused_channels[channel]}
        blocks = self._blocks(params)
        if not params.get("text"):
            return {"ok": False, "error": "no_text"}  # Bongsu always sets the fallback text
        if error := self.block_kit_error(blocks):
            return {"ok": False, "error": error}
        channel_id = self.channel_id(channel)
        if self._rate_limited(channel_id):
            return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        thread_ts = params.get("thread_ts") or None
        name = self._channel_name(channel) if channel == channel_id else channel
        with self._changed:
            self._channels.setdefault(channel_id, name.lstrip("#"))
            if thread_ts and not any(m["ts"] == thread_ts and m["channel_id"] == channel_id for m in self._messages):
                return {"ok": False, "error": "thread_not_found"}
            ts = self._ts()
            message = {"channel": name,
                       "channel_id": channel_id, "ts": ts, "thread_ts": thread_ts, "text": params["text"],
                       "blocks": blocks, "metadata": metadata, "edits": [], "files": [], "at": time.time()}
            self._messages.append(message)
            self._changed.notify_all()
        return {"ok": True, "channel": channel_id, "ts": ts, "message": {"text": params["text"], "ts": ts}}

    def _m_chat_update(self, params, request) -> dict:
        channel_id = self.channel_id(params.get("channel") or "")
        blocks = self._blocks(params)
        if error := self.block_kit_error(blocks):
            return {"ok": False, "error": error}
        with self._changed:
            for message in self._messages:
                if message["channel_id"] == channel_id and message["ts"] == params.get("ts"):
                    message["edits"].append({"text": message["text"], "blocks": message["blocks"]})
                    message["text"] = params.get("text", "")
                    message["blocks"] = blocks  # like Slack: an update without blocks drops them
                    self._changed.notify_all()
                    return {"ok": True, "channel": channel_id, "ts": message["ts"], "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _method_limited(self, method: str) -> bool:
        """Slack's per-method, per-workspace limit (a sliding minute) for the look-up methods."""
        limit = self.method_limits.get(method)
        if limit is None:
            return False
        now = time.monotonic()
        with self._lock:
            window = self._method_calls[method]
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= limit:
                return True
            window.append(now)
        return False

    def _page(self, method: str, params: dict, found: list[dict], newest_first: bool):
        """Slack's history paging: `limit` (capped by `page_size`), `cursor`, `oldest`/`latest`."""
        if self._method_limited(method):
            return 429, {"Retry-After": "3"}, {"ok": False, "error": "ratelimited"}
        channel = params.get("channel") or ""
        if not _CHANNEL_ID.match(channel):
            return {"ok": False, "error": "channel_not_found"}  # history takes IDs, never names
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or 9e12)
        found = [m for m in found if oldest <= float(m["ts"]) <= latest]
        if newest_first:
            found.reverse()
        try:
            start = int(params.get("cursor") or 0)
            limit = max(1, min(int(params.get("limit") or 100), self.page_size))
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = found[start:start + limit]
        more = start + limit < len(found)
        metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        shown = [{"type": "message", "ts": m["ts"], "thread_ts": m["thread_ts"], "text": m["text"],
                  **({"metadata": m["metadata"]} if metadata and m["metadata"] else {})} for m in page]
        return {"ok": True, "channel": channel, "messages": shown, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _m_conversations_history(self, params, request):
        channel_id = params.get("channel") or ""
        with self._lock:
            found = [m for m in self._messages if m["channel_id"] == channel_id
                     and (not m["thread_ts"] or m["thread_ts"] == m["ts"])]
        return self._page("conversations.history", params, found, newest_first=True)

    def _m_conversations_replies(self, params, request):
        channel_id, ts = params.get("channel") or "", params.get("ts")
        with self._lock:
            found = [m for m in self._messages if m["channel_id"] == channel_id
                     and (m["ts"] == ts or m["thread_ts"] == ts)]
        if _CHANNEL_ID.match(channel_id) and not found:
            return {"ok": False, "error": "thread_not_found"}
        return self._page("conversations.replies", params, found, newest_first=False)

    def _m_conversations_list(self, params, request):
        if self._method_limited("conversations.list"):
            return 429, {"Retry-After": "3"}, {"ok": False, "error": "ratelimited"}
        with self._lock:
            known = sorted(self._channels.items())
        try:
            start = int(params.get("cursor") or 0)
            limit = max(1, min(int(params.get("limit") or 100), 200))
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = known[start:start + limit]
        more = start + limit < len(known)
        return {"ok": True, "channels": [{"id": cid, "name": name, "is_channel": True} for cid, name in page],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _m_chat_postEphemeral(self, params, request) -> dict:
        channel, user = params.get("channel") or "", params.get("user") or ""
        if not channel or channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._ts()
        with self._changed:
            self._ephemeral.append({"channel_id": self.channel_id(channel), "user": user,
                                    "text": params.get("text", ""), "ts": ts, "at": time.time()})
            self._changed.notify_all()
        return {"ok": True, "message_ts": ts}

    def _m_usergroups_users_list(self, params, request) -> dict:
        group = params.get("usergroup") or ""
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_files_getUploadURLExternal(self, params, request) -> dict:
        file_id = f"F{next(self._clock):08d}"
        with self._lock:
            self._files[file_id] = {"id": file_id, "filename": params.get("filename"), "size": 0,
                                    "length": int(params.get("length") or 0), "shared": False}
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        data = await request.body()
        with self._lock:
            if file_id not in self._files:
                return PlainTextResponse("unknown upload", 404)
            self._uploads[file_id] = data
            self._files[file_id]["size"] = len(data)
            self._files[file_id]["png"] = data[:8] == b"\x89PNG\r\n\x1a\n"
        return PlainTextResponse(f"OK - {len(data)}")

    def _m_files_completeUploadExternal(self, params, request) -> dict:
        files = json.loads(params.get("files") or "[]")
        channel_id = self.channel_id(params.get("channel_id") or params.get("channels") or "")
        with self._changed:
            for item in files:
                record = self._files.get(item.get("id"))
                if record is None or record["size"] == 0:
                    return {"ok": False, "error": "file_not_found"}
                record.update(shared=True, title=item.get("title"), channel_id=channel_id,
                              thread_ts=params.get("thread_ts"))
            self._changed.notify_all()
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _m_files_info(self, params, request) -> dict:
        with self._lock:
            record = self._files.get(params.get("file"))
        if record is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": {k: v for k, v in record.items() if k != "png"}}

    async def _incoming_webhook(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", 400)
        fault = self._take_fault("incoming-webhook")
        if fault and fault.status:
            return PlainTextResponse("service_unavailable", fault.status)
        with self._changed:
            self._native.append({"at": time.time(), "payload": payload})
            self._changed.notify_all()
        return PlainTextResponse("ok")
