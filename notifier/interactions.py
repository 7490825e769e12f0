"""Button clicks from Slack: Acknowledge, Silence 1h and Silence 4h, already signature-checked.

Only the team's responders may act (notifier/authorization.py); a refusal is shown to the clicker
alone and logged. Each action is recorded under a unique key first (`Store.record_action`), so a
double click, Slack's retry of an unanswered click or the same click reaching two replicas acts
once. People are identified by their stable Slack user ID, never the editable display name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import timezone
from typing import Any

from bongsu.catalog import Catalog
from notifier.authorization import Authorizer
from notifier.logs import log
from notifier.payload import Notification
from notifier.render import ACK, SILENCE_ACTIONS, human_duration
from notifier.evidence_blocks import ROLLBACK
from notifier.rollback_actions import RollbackHandler
from notifier.routing import silence_matchers, team_for
from notifier.settings import Settings
from notifier.silences import SilenceError, create_silence
from notifier.sinks import PermanentError, RetryLater, Sink
from notifier.store import Group, Store

MAX_SILENCE_ATTEMPTS = 5


def incident(notification: Notification) -> str:
    """What one firing episode of a group is called: a refire after a resolve is a new incident."""
    return min(alert.starts_at for alert in notification.alerts).isoformat()


class ButtonHandler:
    def __init__(self, store: Store, settings: Settings, catalog: Catalog, authorizer: Authorizer, sink: Sink,
                 run: Callable[..., Awaitable[Any]], wake: Callable[[Iterable[str]], None]) -> None:
        """`run` runs blocking calls off the loop; `wake` tells the delivery loop which groups have a
        refresh queued."""
        self.store, self.settings, self.catalog, self.authorizer, self.sink = store, settings, catalog, authorizer, sink
        self.run, self.wake = run, wake
        self.rollbacks = RollbackHandler(store, catalog, authorizer, self.tell, run, wake)

    async def handle(self, payload: dict[str, Any]) -> int:
        """Apply each action of a `block_actions` payload; returns how many changed something."""
        if payload.get("type") != "block_actions":
            return 0
        user = payload.get("user") or {}
        user_id = str(user.get("id") or "")
        changed: list[str] = []
        for action in payload.get("actions") or []:
            action_id, group_id = action.get("action_id"), action.get("value")
            if action_id == ROLLBACK:  # notifier/rollback_actions.py: authorises, claims, runs, records
                await self.rollbacks.handle(payload, action)
                continue
            if action_id != ACK and action_id not in SILENCE_ACTIONS:
                continue  # link buttons also report clicks; nothing to do
            group = await self.run(self.store.group_by_id, str(group_id))
            last = group.last if group is not None else None
            if group is None or last is None:
                log.warning("button for an unknown group ignored", action=action_id)
                continue
            team = team_for(last, self.catalog)
            if not await self.authorizer.may_act(user_id, team):
                await self._refuse(payload, user_id, team, action_id, group)
                continue
            done = await (self._ack(group, last, user_id) if action_id == ACK
                          else self._silence(group, last, user_id, SILENCE_ACTIONS[action_id]))
            if done:
                changed.append(group.group_key)
        if changed:
            self.wake(changed)
        return len(changed)

    async def _refuse(self, payload: dict[str, Any], user_id: str, team: str | None, action_id: str, group: Group) -> None:
        log.warning("button refused: not a responder", user_id=user_id or "?", team=team or "(none)",
                    action=action_id, group_key=group.group_key)
        whose = f"team *{team}*" if team else "a team in the catalog"
        await self.tell(payload, group, user_id,
                        f":no_entry: Only the responders of {whose} may use this button. "
                        "Ask them, or have your Slack user ID added to the team's `responders` in the catalog.")

    async def tell(self, payload: dict[str, Any], group: Group, user_id: str, text: str) -> None:
        """An ephemeral message to the clicker, in the channel the click came from."""
        channel = ((payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
                   or group.channel_id)
        if not channel or not user_id:
            return
        try:
            await asyncio.to_thread(self.sink.ephemeral, channel, user_id, text)
        except (RetryLater, PermanentError) as exc:
            log.warning("refusal could not be shown", user_id=user_id, reason=str(exc))

    async def _ack(self, group: Group, last: Notification, user_id: str) -> bool:
        key = f"{group.group_id}:{incident(last)}"
        if not await self.run(self.store.record_action, group.group_key, "ack", key, user_id, {}):
            return False  # the first ack of this incident stands
        await self.run(self.store.ack, group.group_key, user_id)
        await self.run(self.store.enqueue_refresh, group.group_key, f":eyes: Acknowledged by <@{user_id}>.",
                       "ack", user_id)
        await self.run(self.store.set_action_outcome, "ack", key, "done", None)
        log.info("acknowledged", group_key=group.group_key, user_id=user_id)
        return True

    async def _silence(self, group: Group, last: Notification, user_id: str, duration: int) -> bool:
        base = f"{group.group_id}:{incident(last)}"
        key = await self._claim_silence(group, base, user_id, duration)
        if key is None:
            log.info("silence already created or in progress for this incident; click ignored",
                     group_key=group.group_key, user_id=user_id)
            return False
        url = self.settings.alertmanager_url or last.external_url
        try:
            silence_id, ends = await self.run(create_silence, url, silence_matchers(last), duration, user_id,
                                              f"Silenced from Slack by <@{user_id}> (Bongsu notifier)")
        except SilenceError as exc:
            log.error("silence failed", group_key=group.group_key, user_id=user_id, detail=str(exc))
            await self.run(self.store.set_action_outcome, "silence", key, "failed", {"error": str(exc)})
            await self.run(self.store.enqueue_refresh, group.group_key,
                           f":warning: Silence requested by <@{user_id}> failed: {exc}")
            return True
        await self.run(self.store.silence, group.group_key, user_id, ends.timestamp(), silence_id)
        await self.run(self.store.set_action_outcome, "silence", key, "done",
                       {"silence_id": silence_id, "ends_at": ends.timestamp()})
        until = ends.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        await self.run(self.store.enqueue_refresh, group.group_key,
                       f":no_bell: Silenced by <@{user_id}> for {human_duration(duration)}, until {until}"
                       f" (silence `{silence_id}`).", "silence", user_id)
        log.info("silenced", group_key=group.group_key, user_id=user_id, silence_id=silence_id, until=until)
        return True

    async def _claim_silence(self, group: Group, base: str, user_id: str, duration: int) -> str | None:
        """The idempotency key this click may act under, or None when a silence for the incident exists
        or is being created. A failed attempt does not block the next click."""
        for attempt in range(MAX_SILENCE_ATTEMPTS):
            key = base if attempt == 0 else f"{base}#{attempt}"
            if await self.run(self.store.record_action, group.group_key, "silence", key, user_id,
                              {"duration_s": duration}):
                return key
            earlier = await self.run(self.store.action, "silence", key)
            if earlier is None or earlier.outcome != "failed":
                return None
        return None
