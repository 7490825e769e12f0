"""The Evidence section, the Roll back button and the rollback record, as Block Kit and thread text.

Kept inside Slack's limits: the section stays under 3000 characters (long messages and source
lines are cut), the full report reply under 3900.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from slack_sdk.models.blocks import ButtonElement, ConfirmObject, MarkdownTextObject, SectionBlock

from notifier.recovery_store import Evidence, RollbackRecord

ROLLBACK = "rollback"
SECTION_LIMIT = 2900
REPLY_LIMIT = 3900


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _code(text: str, limit: int = 200) -> str:
    return "`" + _escape(_cut(str(text), limit)).replace("`", "'") + "`"


def short(revision: str | None) -> str:
    return revision[:7] if revision and revision != "unknown" else "unknown"


def _ago(seconds: float) -> str:
    minutes = round(abs(seconds) / 60)
    return f"{minutes} min" if minutes else f"{round(abs(seconds))} s"


def deploy_line(evidence: Evidence) -> str | None:
    deploy = evidence.get("deploy")
    if not deploy:
        return None
    build = f"{_escape(deploy['version'])} (commit {_code(short(deploy['revision']))})"
    deployed_at, previous = deploy.get("deployed_at"), deploy.get("previous")
    if deployed_at and previous:
        delta = evidence["started_at"] - deployed_at
        when = f"{_ago(delta)} before this alert" if delta >= 0 else f"{_ago(delta)} after this alert started"
        return (f":rocket: deployed *{build}* {when}; previous {_escape(previous['version'])} "
                f"({_code(short(previous['revision']))})")
    return f":package: running *{build}*; no deploy in the hour before this alert"


def trace_link(trace_id: str, template: str | None) -> str:
    if template and "{trace_id}" in template:
        url = template.replace("{trace_id}", trace_id)
        if url.startswith(("http://", "https://")):
            return f"<{url}|{trace_id}>"
    return _code(trace_id, 64)


def evidence_text(evidence: Evidence, trace_url_template: str | None = None) -> str:
    lines = [f"*Evidence* ({_escape(evidence['service'])})"]
    note = deploy_line(evidence)
    if note:
        lines.append(note)
    fingerprints = evidence.get("fingerprints") or []
    if fingerprints:
        lines.append("*Top errors*")
    for i, f in enumerate(fingerprints[:3], 1):
        where = f"{f['file']}:{f['line']}" if f.get("file") else "unknown location"
        lines.append(f"{i}. {_code(f['type'] + ': ' + f['message'], 160)} at {_code(where, 160)} in "
                     f"{_code(f['function'] or '?', 80)}, {f['count']}x, build {_escape(f['version'])} "
                     f"({_code(short(f['revision']))})")
        if f.get("source"):
            lines.append(f"    > {_code(f['source'], 160)}")
    if not fingerprints:
        lines.append("No error reports for this service in the alert's window.")
    routes = evidence.get("routes") or []
    if routes:
        lines.append("*Failing routes*: " + ", ".join(
            f"{_code(r['method'] + ' ' + r['route'], 80)} {_escape(r['status'])} x{r['count']}" for r in routes))
    if trace_id := evidence.get("trace_id"):
        lines.append(f"*Example trace*: {trace_link(trace_id, trace_url_template)}")
    return _cut("\n".join(lines), SECTION_LIMIT)


def evidence_blocks(evidence: Evidence | None, trace_url_template: str | None = None) -> list[SectionBlock]:
    if not evidence:
        return []
    return [SectionBlock(block_id="bongsu-evidence", text=MarkdownTextObject(text=evidence_text(evidence,
                                                                                                 trace_url_template)))]


def report_reply(evidence: Evidence, trace_url_template: str | None = None) -> str:
    """The full top report for the thread: link, behaviour, data, stack, build and commit."""
    if not evidence.get("reports"):
        return _cut(":mag: Evidence: " + evidence_text(evidence, trace_url_template), REPLY_LIMIT)
    r = evidence["reports"][0]
    lines = [f":mag: *Top error report*: {_code(r['type'] + ': ' + r['message'], 300)}",
             f"*Link*: {_escape(r['method'])} {_code(r['url'], 300)} (route {_code(r['route'] or '?', 100)}, "
             f"status {r['status']})" + (f", trace {trace_link(r['trace_id'], trace_url_template)}"
                                         if r.get("trace_id") else ""),
             f"*Build*: {_escape(r['version'])}, commit {_code(r['revision'], 64)}, package {_code(r['package'], 120)}"]
    if r.get("breadcrumbs"):
        lines.append("*Behaviour* (breadcrumbs, oldest first):")
        lines += [f"• {_code(json.dumps(b, sort_keys=True), 200)}" for b in r["breadcrumbs"][-8:]]
    if r.get("request"):
        lines.append(f"*Data*: {_code(json.dumps(r['request'], sort_keys=True), 600)}")
    if r.get("frames"):
        own = [f for f in r["frames"] if f.get("in_app")]
        hidden = len(r["frames"]) - len(own) if own else 0
        lines.append("*Stack* (innermost last" + (f"; {hidden} framework and library frames left out" if hidden else "")
                     + "):")
        for frame in (own or r["frames"])[-8:]:
            mark = " :point_left: culprit" if frame.get("culprit") else ""
            lines.append(f"• {_code(str(frame.get('file')) + ':' + str(frame.get('line')), 160)} in "
                         f"{_code(frame.get('function') or '?', 80)}: {_code(frame.get('source') or '', 160)}{mark}")
    return _cut("\n".join(lines), REPLY_LIMIT)


def rollback_button(evidence: Evidence | None, group_id: str, service: str,
                    records: list[RollbackRecord]) -> ButtonElement | None:
    """`Roll back to X`, with Slack's confirm dialog, while no rollback of this group ran or runs."""
    offer = evidence.get("rollback") if evidence else None
    if not offer or any(r.outcome in ("running", "succeeded") for r in records):
        return None
    value = json.dumps({"group": group_id, "from": offer["from"], "to": offer["to"]}, separators=(",", ":"))
    return ButtonElement(
        text=_cut(f"Roll back to {offer['to']}", 75), action_id=ROLLBACK, value=value, style="danger",
        confirm=ConfirmObject(title="Roll back?", confirm="Roll back", deny="Cancel",
                              text=_cut(f"Roll {service} back from {offer['from']} to {offer['to']}? "
                                        "This runs the rollback the catalog configures for it.", 300)))


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def rollback_line(record: RollbackRecord) -> str:
    icon = {"running": ":hourglass_flowing_sand:", "succeeded": ":leftwards_arrow_with_hook:",
            "failed": ":x:"}.get(record.outcome, "")
    text = (f"{icon} Roll back of {_escape(record.service)} from {_escape(record.from_version)} to "
            f"{_escape(record.to_version)} by *{_escape(_cut(record.user_name, 80))}* (<@{_escape(record.user_id)}>)"
            f" at {_clock(record.requested_at)}: *{record.outcome}*")
    if record.finished_at:
        text += f" after {record.finished_at - record.requested_at:.1f}s"
    if record.outcome == "failed" and record.detail:
        text += f": {_escape(_cut(record.detail, 300))}"
    return _cut(text, 1000)
