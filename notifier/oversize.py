"""Webhook bodies over the limit become a truncated group instead of a 4xx Alertmanager never retries.

The body is streamed: its first `limit` bytes and its last TAIL_BYTES are kept, the middle is only
counted (alerts by their `"fingerprint"` key), so memory stays bounded. The alerts that fit in the
head are parsed one by one; the group's own fields (groupKey, status, labels...) come from before
and after the `alerts` array. The rest are reported as `truncatedAlerts`, as Alertmanager's own
`max_alerts` does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from notifier.payload import Notification, PayloadError

TAIL_BYTES = 256 * 1024
HARD_LIMIT_BYTES = 256 * 1024 * 1024  # past this, a body is not a webhook but an attack: 413
_FINGERPRINT = b'"fingerprint"'
_ALERTS = re.compile(r'"alerts"\s*:\s*\[')
_AFTER_ALERTS = re.compile(r'\}\s*\]\s*,\s*"')


class BodyTooLarge(Exception):
    pass


@dataclass
class Body:
    head: bytes
    tail: bytes = b""
    size: int = 0
    alerts_seen: int = 0

    @property
    def cut(self) -> bool:
        return bool(self.tail) or self.size > len(self.head)


async def read_body(request: Request, limit: int, hard_limit: int = HARD_LIMIT_BYTES) -> Body:
    """The whole body when it fits in `limit`; otherwise its head, tail and alert count."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > hard_limit:
        raise BodyTooLarge
    head, tail, size, seen, carry = bytearray(), bytearray(), 0, 0, b""
    async for chunk in request.stream():
        size += len(chunk)
        if size > hard_limit:
            raise BodyTooLarge
        scan = carry + chunk
        seen += scan.count(_FINGERPRINT)
        carry = scan[-(len(_FINGERPRINT) - 1):]
        room = limit - len(head)
        if room > 0:
            head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            tail += chunk
            del tail[:max(0, len(tail) - TAIL_BYTES)]
    return Body(bytes(head), bytes(tail), size, seen)


def salvage(body: Body) -> Notification:
    """The group from a cut body: the alerts that fit, the rest counted in `truncatedAlerts`."""
    head = body.head.decode("utf-8", errors="ignore")
    tail = body.tail.decode("utf-8", errors="ignore")
    opening = _ALERTS.search(head)
    if opening is None:
        raise PayloadError("body over the size limit, and no `alerts` array found at its start")
    fields = _object_fields(head[:opening.start()])
    # Fields after the array (Alertmanager writes groupKey, labels... there); none when `alerts` comes last.
    fields.update(next((found for match in _AFTER_ALERTS.finditer(tail)
                        if (found := _try_object('{"' + tail[match.end():])) is not None), {}))
    if "groupKey" not in fields or "status" not in fields:
        raise PayloadError("body over the size limit, and its group fields (groupKey, status...) are unreadable")
    alerts, decoder, at = [], json.JSONDecoder(), opening.end()
    while True:
        while at < len(head) and head[at] in " \t\r\n,":
            at += 1
        try:
            alert, at = decoder.raw_decode(head, at)
        except json.JSONDecodeError:
            break
        alerts.append(alert)
    if not alerts:
        raise PayloadError("body over the size limit, and not one alert fits in it")
    total = max(body.alerts_seen, len(alerts))
    fields["alerts"] = alerts
    fields["truncatedAlerts"] = int(fields.get("truncatedAlerts") or 0) + total - len(alerts)
    try:
        return Notification.model_validate(fields)
    except ValueError as exc:
        raise PayloadError(f"body over the size limit, and what fits is not a webhook payload: {exc}") from None


def _object_fields(prefix: str) -> dict[str, Any]:
    """`{"receiver": "x", "status": "firing",` -> its fields (the object is closed for parsing)."""
    text = prefix.rstrip().rstrip(",")
    if text.strip() == "{":
        return {}
    return _try_object(text + "}") or {}


def _try_object(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None
