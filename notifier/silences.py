"""Real Alertmanager silences through its v2 API, for the Silence buttons."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TypedDict

import httpx

from bongsu.errors import BongsuError

from notifier.redaction import redact_url


class SilenceError(BongsuError, RuntimeError):
    pass


class Matcher(TypedDict):
    """One matcher of an Alertmanager v2 silence (its JSON field names)."""

    name: str
    value: str
    isRegex: bool
    isEqual: bool


def create_silence(alertmanager_url: str, matchers: list[Matcher], duration_s: int, created_by: str,
                   comment: str, timeout: float = 2.5) -> tuple[str, datetime]:
    """POST /api/v2/silences with Alertmanager v2 matchers; returns the silence id and its end."""
    if not matchers:
        raise SilenceError("the group has no labels to match on")
    starts = datetime.now(timezone.utc)
    ends = starts + timedelta(seconds=duration_s)
    body = {
        "matchers": matchers,
        "startsAt": starts.isoformat(), "endsAt": ends.isoformat(),
        "createdBy": created_by, "comment": comment,
    }
    url = f"{alertmanager_url.rstrip('/')}/api/v2/silences"
    try:
        answer = httpx.post(url, json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SilenceError(f"Alertmanager at {redact_url(alertmanager_url)} unreachable: {type(exc).__name__}"
                           ) from None
    if answer.status_code != 200:
        raise SilenceError(f"Alertmanager refused the silence: HTTP {answer.status_code} {answer.text[:200]}")
    silence_id: str = answer.json()["silenceID"]
    return silence_id, ends
