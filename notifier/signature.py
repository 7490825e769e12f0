"""Slack request signing (v0): HMAC-SHA256 over `v0:<timestamp>:<body>`, a 5-minute window, constant time."""

from __future__ import annotations

import hashlib
import hmac
import time

REPLAY_WINDOW_S = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def rejection(secret: str | None, timestamp: str | None, signature: str | None, body: bytes,
              now: float | None = None) -> str | None:
    """Why a request must be rejected, or None when it is genuinely from Slack and fresh.

    The reason never contains the secret, the expected signature or the one received.
    """
    if not secret:
        return "no signing secret configured (SLACK_SIGNING_SECRET)"
    if not timestamp or not signature:
        return "unsigned request (missing X-Slack-Request-Timestamp or X-Slack-Signature)"
    try:
        stamp = int(timestamp)
    except ValueError:
        return "malformed timestamp"
    if abs((time.time() if now is None else now) - stamp) > REPLAY_WINDOW_S:
        return "stale timestamp (outside the 5-minute window)"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        return "signature mismatch"
    return None
