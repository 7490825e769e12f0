"""Button clicks from Slack: Acknowledge, Silence 1h and Silence 4h, already signature-checked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timezone

from notifier.logs import log
from notifier.render import ACK, SILENCE_ACTIONS, human_duration
from notifier.routing import silence_matchers
from notifier.settings import Settings
from notifier.silences import SilenceError, create_silence
from notifier.store import Store


def _who(payload: dict) -> str:
    user = payload.get("user") or {}
    return str(user.get("username") or user.get("name") or user.get("id") or "someone")


async def handle_actions(payload: dict, store: Store, settings: Settings, run: Callable, wake: Callable) -> int:
    """Apply each action; returns how many changed something. `run` runs blocking calls off the loop;
    `wake` tells the delivery loop which groups have a refresh queued."""
    if payload.get("type") != "block_actions":
        return 0
    who = _who(payload)
    changed: list[str] = []
    for action in payload.get("actions") or []:
        action_id, group_id = action.get("action_id"), action.get("value")
        if action_id != ACK and action_id not in SILENCE_ACTIONS:
            continue  # link buttons also report clicks; nothing to do
        group = await run(store.group_by_id, str(group_id))
        if group is None or group.last is None:
            log.warning("button for an unknown group ignored", action=action_id)
            continue
        if action_id == ACK:
            if group.acked_by:
                continue  # Slack retries unanswered clicks; the first ack stands
            await run(store.ack, group.group_key, who)
            await run(store.enqueue_refresh, group.group_key, f":eyes: Acknowledged by *{who}*.")
            log.info("acknowledged", group_key=group.group_key, user=who)
        else:
            duration = SILENCE_ACTIONS[action_id]
            url = settings.alertmanager_url or group.last.external_url
            try:
                silence_id, ends = await run(create_silence, url, silence_matchers(group.last), duration, who,
                                             f"Silenced from Slack by {who} (Bongsu notifier)")
            except SilenceError as exc:
                log.error("silence failed", group_key=group.group_key, user=who, detail=str(exc))
                await run(store.enqueue_refresh, group.group_key,
                          f":warning: Silence requested by *{who}* failed: {exc}")
            else:
                await run(store.silence, group.group_key, who, ends.timestamp(), silence_id)
                until = ends.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
                await run(store.enqueue_refresh, group.group_key,
                          f":no_bell: Silenced by *{who}* for {human_duration(duration)}, until {until}"
                          f" (silence `{silence_id}`).")
                log.info("silenced", group_key=group.group_key, user=who, silence_id=silence_id, until=until)
        changed.append(group.group_key)
    if changed:
        wake(changed)
    return len(changed)


def run_in(executor) -> Callable:
    async def run(call, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, call, *args)
    return run
