"""The Alertmanager webhook payload (version 4), validated, and the key that identifies a group state."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PayloadError(ValueError):
    """A webhook body that is not a version-4 Alertmanager payload; the message says where."""


class _Lenient(BaseModel):
    # Alertmanager may add fields in later versions; unknown keys are kept, not rejected.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Alert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")


class Notification(_Lenient):
    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert] = Field(min_length=1)

    def state_key(self) -> str:
        """Identifies this group state, so HA replicas' copies of it collapse into one delivery.

        An alert that resolves and fires again gets a new `startsAt`, so a refire is a new state
        while a repeat of the same state (or a replica's late copy of it) is not.
        """
        alerts = sorted((a.fingerprint, a.status, a.starts_at.isoformat()) for a in self.alerts)
        text = json.dumps([self.group_key, self.status, alerts], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "resolved"]

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def _where(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def parse_notification(body: bytes) -> Notification:
    """Parse and validate a webhook body; PayloadError names the first few problems and where."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object (an Alertmanager webhook payload, version 4)")
    try:
        return Notification.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        raise PayloadError("not an Alertmanager version-4 payload: " + "; ".join(problems) + more) from None
