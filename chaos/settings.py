"""What drills read from the environment, on the spine's one settings pattern (bongsu/settings.py).

Chaos Toolkit may run an activity in a process `bongsu up` never saw, so the stack file and both
tokens can come from here; the environment wins over the stack file's copy of a token.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from bongsu import conventions
from bongsu.settings import BongsuSettings


class ChaosSettings(BongsuSettings):
    stack: Path | None = Field(None, validation_alias=conventions.STACK)
    fault_token: str | None = Field(None, validation_alias=conventions.FAULT_TOKEN, repr=False)
    webhook_token: str | None = Field(None, validation_alias=conventions.WEBHOOK_TOKEN, repr=False)
