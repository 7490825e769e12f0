"""Activities of the bad-deploy drill: ship a build, read the page as the on-call sees it, press
Roll back through a correctly signed Slack interaction, and wait for the good build to run again.

The page is read from the notifier's offline journal (`notifications.jsonl`, the local stack's
Slack), rendered to plain text exactly as `bongsu demo` shows it. The click is the `block_actions`
payload Slack would send, signed with the stack's signing secret (v0 HMAC-SHA256).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import httpx
from chaoslib.exceptions import ActivityFailed

from bongsu.stackdeploy import DeployError, request_deploy
from chaos import marks
from chaos.deliveries import delivered_at
from chaos.polling import until
from chaos.stackfile import StackFile, stack_from
from notifier.sinks import plain_text
from slack_sdk.signature import SignatureVerifier

__all__ = ["deploy_build", "page_shows", "press_button", "service_runs_build", "service_on_build"]


def _description(stack: StackFile) -> dict:
    return json.loads(Path(stack.path).read_text())


def deploy_build(service: str, version: str, bad: bool = False, configuration: dict | None = None,
                 secrets: dict | None = None) -> dict:
    """Restart `service` on build `version` of the demo shop; `bad` marks it as the drill's fault."""
    stack = stack_from(configuration)
    try:
        answer = request_deploy(stack.path, service, version)
    except DeployError as exc:
        raise ActivityFailed(str(exc)) from None
    at = time.time()
    result = {"service": service, "version": version, "revision": answer.get("revision"),
              "package": answer.get("package"), "deployed_at": at}
    if bad:
        result["injected_at"] = marks.mark("injected", at)
    return result


def _message(stack: StackFile, group_key: str | None) -> tuple[list[dict], dict | None]:
    """The group's message records (post and updates, oldest first) from the notifier's journal, and
    the delivery it belongs to."""
    journal = Path(_description(stack).get("notifications") or "")
    deliveries = httpx.get(f"{stack.notifier}/api/deliveries", headers={"Authorization": f"Bearer {stack.webhook_token}"},
                           timeout=10).json()
    delivery = next((d for d in reversed(deliveries) if d.get("group_key") == group_key and d.get("ts")), None)
    if delivery is None or not journal.exists():
        return [], delivery
    root = delivery.get("thread_ts") or delivery.get("ts")
    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("ts") == root and r.get("blocks")], delivery


def _group_key(stack: StackFile, alertname: str, labels: dict) -> str | None:
    deliveries = httpx.get(f"{stack.notifier}/api/deliveries", headers={"Authorization": f"Bearer {stack.webhook_token}"},
                           timeout=10).json()
    since = marks.since_fault()
    for delivery in reversed(deliveries):
        if not delivery.get("delivered_at") or delivered_at(delivery) < since - 1:
            continue
        if any(a["labels"].get("alertname") == alertname and all(a["labels"].get(k) == v for k, v in labels.items())
               for a in delivery.get("alerts", [])):
            return delivery["group_key"]
    return None


def page_shows(alertname: str, labels: dict, contains: list[str], build: dict | None = None, timeout_s: float = 180,
               interval_s: float = 1, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Wait until the alert's Slack message (as rendered) contains every string of `contains`, and,
    with `build` ({"service", "version"}), that version with its commit as the stack built it."""
    stack = stack_from(configuration)
    wanted = list(contains)
    if build:
        built = _description(stack)["builds"].get(build["service"]) or {}
        revision = built.get("revision") if built.get("version") == build["version"] else None
        if not revision:
            raise ActivityFailed(f"the stack does not run {build['service']} {build['version']} (builds: {built})")
        wanted += [f"deployed {build['version']} (commit {revision[:7]})"]

    def check() -> tuple[bool, dict]:
        group_key = _group_key(stack, alertname, labels)
        records, _ = _message(stack, group_key)
        for record in records:
            text = plain_text(record["blocks"])
            if all(w in text for w in wanted):
                return True, {"group_key": group_key, "evidence_at": record["at"], "text": text[:3000]}
        last = plain_text(records[-1]["blocks"]) if records else "no message yet"
        return False, {"group_key": group_key, "missing": [w for w in wanted if w not in last], "text": last[:1500]}

    found = until(check, timeout_s, f"the {alertname} page showing {wanted}", interval_s)
    marks.mark("evidence", found["evidence_at"])
    return found


def press_button(alertname: str, labels: dict, action_id: str, user_id: str, configuration: dict | None = None,
                 secrets: dict | None = None) -> dict:
    """Press a button of the alert's current message as Slack would: a signed `block_actions` POST."""
    stack = stack_from(configuration)
    description = _description(stack)
    records, delivery = _message(stack, _group_key(stack, alertname, labels))
    if not records:
        raise ActivityFailed(f"no message for {alertname} to press {action_id!r} on")
    buttons = [e for block in records[-1]["blocks"] if block.get("type") == "actions" for e in block["elements"]]
    button = next((b for b in buttons if b.get("action_id") == action_id), None)
    if button is None:
        raise ActivityFailed(f"the {alertname} message has no {action_id!r} button; it has "
                             f"{[b.get('action_id') for b in buttons]}")
    payload = {"type": "block_actions", "user": {"id": user_id, "username": f"drill-{user_id.lower()}"},
               "channel": {"id": delivery.get("channel")}, "container": {"message_ts": records[-1]["ts"]},
               "actions": [{"action_id": action_id, "value": button.get("value"), "type": "button",
                            "action_ts": f"{time.time():.6f}"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()))
    answer = httpx.post(f"{stack.notifier}/slack/interactions", content=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": SignatureVerifier(description["signing_secret"]).generate_signature(
            timestamp=timestamp, body=body)})
    if answer.status_code != 200:
        raise ActivityFailed(f"the notifier answered the click with {answer.status_code}: {answer.text[:200]}")
    at = marks.mark("cleared")
    return {"clicked_at": at, "cleared_at": at, "action_id": action_id, "user_id": user_id,
            "button": button["text"]["text"]}


def service_runs_build(service: str, version: str, timeout_s: float = 180, interval_s: float = 1,
                       configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Wait until `service` answers its health check and its own /metrics says it runs `version`
    (`bongsu_build_info`), as the stack built it."""
    stack = stack_from(configuration)

    def check() -> tuple[bool, dict]:
        built = _description(stack)["builds"].get(service) or {}
        metrics = httpx.get(f"{stack.url(service)}/metrics", timeout=5).text
        line = next((m for m in metrics.splitlines() if m.startswith("bongsu_build_info{")), "")
        running = f'version="{version}"' in line and f'revision="{built.get("revision")}"' in line
        return running and built.get("version") == version, {"stack_build": built, "build_info": line}

    seen = until(check, timeout_s, f"{service} running {version}", interval_s)
    at = time.time()
    if marks.get("cleared") is not None:
        marks.mark("recovered", at)
    return {**seen, "service": service, "version": version, "recovered_at": at}


def service_on_build(service: str, version: str, timeout_s: float = 120, interval_s: float = 1,
                     configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """True when `service` runs `version` within the timeout (for a steady-state tolerance of true)."""
    try:
        service_runs_build(service, version, timeout_s, interval_s, configuration, secrets)
    except ActivityFailed:
        return False
    return True
