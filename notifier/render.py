"""Block Kit for a group's message, and the short thread notes that narrate its changes.

Built with slack-sdk's Block Kit model classes, and kept inside Slack's limits by construction:
at most 50 blocks, 3000 characters per section, and well under the ~12k characters at which
Slack starts answering `msg_blocks_too_long`. Large groups end with "... and N more".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    LinkButtonElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from notifier.evidence_blocks import evidence_blocks, rollback_button, rollback_line
from notifier.payload import Alert, Notification
from notifier.recovery_store import Evidence, RollbackRecord
from notifier.redaction import link_without_credentials

SECTION_LIMIT = 3000
MESSAGE_BUDGET = 10500  # JSON characters of all blocks; Slack fails around 13k, the test server at 12k
ALERT_LIST_BUDGET = 6000  # at most this much of the budget goes to alert lines
ALERT_LINE_LIMIT = 280
FIELD_LIMIT = 200
HIDDEN_LABELS = {"alertname", "severity", "__name__", "slack_channel"}
SEVERITY_ICON = {"critical": ":red_circle:", "page": ":red_circle:", "error": ":red_circle:",
                 "warning": ":large_orange_circle:", "ticket": ":large_orange_circle:", "info": ":large_blue_circle:"}

ACK = "ack"
SILENCE_ACTIONS = {"silence_1h": 3600, "silence_4h": 4 * 3600}


@dataclass
class GroupView:
    """Everything one render needs: the group's current state plus what people did about it."""

    notification: Notification
    group_id: str
    runbook_excerpt: str | None = None
    runbook_url: str | None = None
    dashboard_url: str | None = None
    acked_by: str | None = None
    acked_at: float | None = None
    silenced_by: str | None = None
    silenced_until: float | None = None
    now: datetime | None = None
    evidence: Evidence | None = None  # notifier/evidence.py, once gathered
    rollbacks: list[RollbackRecord] | None = None
    trace_url_template: str | None = None
    # The first alert's value when it resolved (notifier/resolution.py); None when unknown.
    resolved_value: float | None = None


@dataclass
class Message:
    text: str
    blocks: list[dict[str, Any]] | None  # Block Kit JSON; None for thread replies: text only


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def human_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" + (f" {seconds}s" if seconds and minutes < 10 else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def _clock(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _label(n: Notification, name: str) -> str | None:
    return n.group_labels.get(name) or n.common_labels.get(name)


def title(n: Notification) -> str:
    name = _label(n, "alertname") or n.alerts[0].name
    count = len(n.firing) if n.status == "firing" else len(n.alerts)
    if n.truncated_alerts:  # Alertmanager's max_alerts (or the body limit) left these out of the payload
        count += n.truncated_alerts
        return f"{n.status.upper()}: {name} ({count} alerts, {n.truncated_alerts} not listed)"
    return f"{n.status.upper()}: {name} ({count} alert{'s' if count != 1 else ''})"


def span(n: Notification, now: datetime) -> tuple[datetime, float]:
    """When the group started and how long it has lasted (up to its resolution, once resolved)."""
    started = min(a.starts_at for a in n.alerts)
    if n.status == "resolved":
        ends = [a.ends_at for a in n.alerts if a.ends_at and a.ends_at.year > 1]
        end = max(ends) if ends else now
    else:
        end = now
    return started, (end - started).total_seconds()


def _summary(n: Notification) -> tuple[str | None, str | None]:
    first = n.alerts[0].annotations
    summary = n.common_annotations.get("summary") or first.get("summary")
    description = n.common_annotations.get("description") or first.get("description")
    return summary, description


def _alert_line(alert: Alert, common: dict[str, str]) -> str:
    icon = ":red_circle:" if alert.status == "firing" else ":white_check_mark:"
    own = {k: v for k, v in sorted(alert.labels.items()) if k not in common and k not in HIDDEN_LABELS}
    labels = " ".join(f"`{_escape(k)}={_escape(v)}`" for k, v in own.items()) or f"`{alert.fingerprint}`"
    summary = alert.annotations.get("summary")
    extra = f" {_escape(summary)}" if summary and summary != common.get("summary") else ""
    return _cut(f"{icon} {labels}{extra} (since {alert.starts_at.astimezone(timezone.utc):%H:%M} UTC)",
                ALERT_LINE_LIMIT)


def _size(text: str) -> int:
    return len(json.dumps(text))  # what the line costs once serialised (escapes included)


def alert_sections(n: Notification, budget: int = ALERT_LIST_BUDGET) -> list[SectionBlock]:
    """The alert list, cut to `budget`; ends with "... and N more" when anything was left out."""
    common = {**n.common_labels, "summary": n.common_annotations.get("summary", "")}
    ordered = sorted(n.alerts, key=lambda a: (a.status != "firing", a.starts_at, a.fingerprint))
    lines: list[str] = []
    used = 0
    for alert in ordered:
        line = _alert_line(alert, common)
        if used + _size(line) > budget - 40:
            break
        lines.append(line)
        used += _size(line)
    left_out = len(ordered) - len(lines) + n.truncated_alerts
    if left_out:
        lines.append(f"... and {left_out} more")
    sections: list[SectionBlock] = []
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_LIMIT - 10:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return sections


def group_message(view: GroupView) -> Message:
    n = view.notification
    now = view.now or datetime.now(timezone.utc)
    severity = _label(n, "severity") or "none"
    icon = ":white_check_mark:" if n.status == "resolved" else SEVERITY_ICON.get(severity, ":red_circle:")
    started, lasted = span(n, now)
    summary, description = _summary(n)

    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_cut(title(n), 150), emoji=True))]
    when = (f"resolved after *{human_duration(lasted)}*" if n.status == "resolved"
            else f"firing for *{human_duration(lasted)}*")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"{icon} severity *{_escape(severity)}* · started {_clock(started)} · {when}")]))
    if n.status == "resolved" and description:
        # The description was rendered with the value while firing; say so, and what it was at the end.
        at_end = (f"Value at resolution: *{view.resolved_value:.4g}*" if view.resolved_value is not None
                  else "Value at resolution: not known (the notifier has no PROMETHEUS_URL, or no sample then)")
        description = f"{at_end}\nWhile firing: {description}"
    if summary or description:
        text = "\n".join(part for part in (f"*{_escape(_cut(summary, 300))}*" if summary else None,
                                           _escape(_cut(description, 1000)) if description else None) if part)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_cut(text, 1500))))
    shown = {**n.common_labels, **n.group_labels}
    fields = [MarkdownTextObject(text=_cut(f"*{_escape(k)}*\n{_escape(v)}", FIELD_LIMIT))
              for k, v in sorted(shown.items()) if k not in HIDDEN_LABELS][:10]
    if fields:
        blocks.append(SectionBlock(fields=fields))
    if view.runbook_excerpt:
        quoted = "\n".join(f"> {_escape(line)}" for line in view.runbook_excerpt.splitlines())
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_cut(f"*Runbook*\n{quoted}", 700))))
    blocks += evidence_blocks(view.evidence, view.trace_url_template)
    blocks.append(DividerBlock())

    status_notes = []
    if view.acked_by:
        status_notes.append(f":eyes: acknowledged by {_person(view.acked_by)}"
                            + (f" at {_clock(datetime.fromtimestamp(view.acked_at, timezone.utc))}"
                               if view.acked_at else ""))
    if view.silenced_by and view.silenced_until:
        until = _clock(datetime.fromtimestamp(view.silenced_until, timezone.utc))
        status_notes.append(f":no_bell: silenced by {_person(view.silenced_by)} until {until}")
    status_notes += [rollback_line(record) for record in view.rollbacks or []]
    tail: list[Block] = []
    if status_notes:
        tail.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(status_notes))]))

    buttons: list[ButtonElement] = []
    if n.status == "firing":
        if not view.acked_by:
            buttons.append(ButtonElement(text="Acknowledge", action_id=ACK, value=view.group_id, style="primary"))
        buttons.append(ButtonElement(text="Silence 1h", action_id="silence_1h", value=view.group_id))
        buttons.append(ButtonElement(text="Silence 4h", action_id="silence_4h", value=view.group_id))
        rollback = rollback_button(view.evidence, view.group_id, _label(n, "service") or "the service",
                                   view.rollbacks or [])
        if rollback is not None:
            buttons.insert(0, rollback)
    links = [("Runbook", view.runbook_url), ("Dashboard", view.dashboard_url),
             ("Graph", n.alerts[0].generator_url or None),
             ("Silences", f"{n.external_url.rstrip('/')}/#/silences" if n.external_url else None)]
    for index, (label, url) in enumerate(links):
        url = link_without_credentials(url) if url else url  # no credentials in a message anyone can read
        if url and url.startswith(("http://", "https://")) and len(url) <= 3000:
            buttons.append(LinkButtonElement(text=label, url=url, action_id=f"link_{index}"))
    if buttons:
        tail.append(ActionsBlock(block_id="bongsu-actions", elements=buttons))
    fixed = [block.to_dict() for block in blocks + tail]
    budget = min(ALERT_LIST_BUDGET, MESSAGE_BUDGET - len(json.dumps(fixed)))
    blocks = blocks + alert_sections(n, budget) + tail

    fallback = f"[{n.status.upper()}] {title(n).split(': ', 1)[1]}" + (f": {summary}" if summary else "")
    return Message(text=_cut(fallback, 3000), blocks=[block.to_dict() for block in blocks])


def _describe(alert: Alert, common: dict[str, str]) -> str:
    own = {k: v for k, v in sorted(alert.labels.items()) if k not in common and k not in HIDDEN_LABELS}
    return " ".join(f"`{_escape(k)}={_escape(v)}`" for k, v in own.items()) or f"`{alert.fingerprint}`"


def _listed(alerts: list[Alert], common: dict[str, str], limit: int = 10) -> str:
    shown = ", ".join(_describe(a, common) for a in alerts[:limit])
    return shown + (f" ... and {len(alerts) - limit} more" if len(alerts) > limit else "")


def change_note(previous: Notification | None, current: Notification, now: datetime | None = None) -> str:
    """One short thread reply saying what changed since the last state the thread showed."""
    now = now or datetime.now(timezone.utc)
    common = current.common_labels
    if current.status == "resolved":
        _, lasted = span(current, now)
        return _cut(f":white_check_mark: Resolved after {human_duration(lasted)}.", 3000)
    if previous is not None and previous.status == "resolved":
        return _cut(f":repeat: Firing again: {len(current.firing)} alert(s): {_listed(current.firing, common)}", 3000)
    before = {a.fingerprint for a in previous.firing} if previous else set()
    now_firing = {a.fingerprint for a in current.firing}
    joined = [a for a in current.firing if a.fingerprint not in before]
    left = [a for a in current.resolved if a.fingerprint in before or previous is None]
    gone = before - now_firing - {a.fingerprint for a in current.resolved}
    parts = []
    if joined:
        parts.append(f":heavy_plus_sign: {len(joined)} joined: {_listed(joined, common)}")
    if left:
        parts.append(f":heavy_minus_sign: {len(left)} resolved: {_listed(left, common)}")
    if gone:
        parts.append(f":heavy_minus_sign: {len(gone)} left the group")
    parts.append(f"Now {len(current.firing)} firing.")
    return _cut("\n".join(parts), 3000)


def _person(who: str) -> str:
    """A Slack user ID as a mention (Slack shows the current name); anything else as bold text."""
    if re.fullmatch(r"[UW][A-Z0-9]{2,20}", who):
        return f"<@{who}>"
    return f"*{_escape(_cut(who, 80))}*"
