"""Real Alertmanager silences through its v2 API, for the Silence buttons."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from notifier.redaction import redact_url


class SilenceError(RuntimeError):
    pass


def create_silence(alertmanager_url: str, matchers: dict[str, str], duration_s: int, created_by: str,
                   comment: str, timeout: float = 2.5) -> tuple[str, datetime]:
    """POST /api/v2/silences with equality matchers; returns the silence id and its end."""
    if not matchers:
        raise SilenceError("the group has no labels to match on")
    starts = datetime.now(timezone.utc)
    ends = starts + timedelta(seconds=duration_s)
    body = {
        "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(matchers.items())],
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
    return answer.json()["silenceID"], ends
