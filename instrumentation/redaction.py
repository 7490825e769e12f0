"""PII redaction for log records: e-mail addresses and payment card numbers (Luhn-checked, so order
ids and timestamps survive), plus any patterns the service adds. On by default."""

from __future__ import annotations

import re
from collections.abc import Iterable

from instrumentation.errors import ConfigError

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
CARD = r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"
REDACTED = "[REDACTED]"


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class Redactor:
    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        self._email = re.compile(EMAIL)
        self._card = re.compile(CARD)
        extra = list(extra_patterns)
        for pattern in extra:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"redact pattern {pattern!r} is not a valid regular expression: {exc}") from None
        self._extra = re.compile("|".join(f"(?:{p})" for p in extra)) if extra else None

    def __call__(self, text: str) -> str:
        if "@" in text:
            text = self._email.sub(REDACTED, text)
        text = self._card.sub(self._card_replacement, text)
        if self._extra is not None:
            text = self._extra.sub(REDACTED, text)
        return text

    @staticmethod
    def _card_replacement(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return REDACTED if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()
