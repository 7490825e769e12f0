"""Secrets out of URLs before they reach a log line, a Slack message or an error."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from loguru import Record


def redact_url(url: str | None) -> str:
    """`scheme://user:secret@host/...` -> `scheme://user:***@host/...` (a bare user keeps its name)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    shown = f"{user}:***@{host}" if parts.password is not None else f"***@{host}"
    return urlunsplit((parts.scheme, shown, parts.path, parts.query, parts.fragment))


_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*)(?P<password>:[^@/\s]*)?@")


def redact_text(text: str) -> str:
    """Every `scheme://user:secret@` in free text (an exception message, a log field) -> `scheme://user:***@`
    (a bare `scheme://token@` -> `scheme://***@`: there the user part is the secret)."""
    return _CREDENTIALS.sub(
        lambda m: f"{m['scheme']}{m['user']}:***@" if m["password"] else f"{m['scheme']}***@", text)


def link_without_credentials(url: str) -> str:
    """A URL fit for a Slack button or link: its user info is dropped altogether."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


def redact_record(record: Record) -> None:
    """A loguru patcher: no credentials in a log line's message or fields, whoever wrote them."""
    record["message"] = redact_text(record["message"])
    for key, value in record["extra"].items():
        if isinstance(value, str) and "@" in value:
            record["extra"][key] = redact_text(value)
