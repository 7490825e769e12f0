"""The Roll back button: authorised, checked for staleness, run exactly once, recorded and shown.

A click is honoured only when the clicker (stable Slack user ID) is a responder of the service's
team (notifier/authorization.py), the group still fires, and the button's from/to versions are the
ones the group's evidence offers now (a click on an old message is stale). The first click claims
the action under a key of group, from-version and to-version (`Store.record_action`, unique across
replicas sharing the store); every later click, Slack retry or replica sees the claim and does
nothing. The rollback itself runs after the click is answered (Slack wants an answer within 3 s):
its record (who, when, from, to, outcome) is shown in the message, the thread and the post-mortem.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bongsu.catalog import Catalog, Service
from bongsu.rollback import RollbackError, run_rollback
from notifier.authorization import Authorizer
from notifier.evidence import service_of
from notifier.evidence_blocks import rollback_line
from notifier.logs import log
from notifier.payload import Notification
from notifier.recovery_store import RollbackRecord
from notifier.store import Group, Store


Tell = Callable[[dict[str, Any], Group, str, str], Awaitable[None]]  # (payload, group, user_id, text)


class RollbackHandler:
    def __init__(self, store: Store, catalog: Catalog, authorizer: Authorizer, tell: Tell,
                 run: Callable[..., Awaitable[Any]], wake: Callable[[Iterable[str]], None]) -> None:
        """`tell(payload, group, user_id, text)` shows the clicker an ephemeral message."""
        self.store, self.catalog, self.authorizer, self._tell, self.run, self.wake = (
            store, catalog, authorizer, tell, run, wake)
        self._running: set[asyncio.Task[None]] = set()

    async def handle(self, payload: dict[str, Any], action: dict[str, Any]) -> bool:
        """Start the rollback a click asks for; False (and an ephemeral refusal) when it may not run."""
        user = payload.get("user") or {}
        user_id = str(user.get("id") or "")
        try:
            value = json.loads(action.get("value") or "")
            group_id, from_version, to_version = str(value["group"]), str(value["from"]), str(value["to"])
        except (ValueError, KeyError, TypeError):
            log.warning("rollback click refused: malformed button value", user_id=user_id or "?")
            return False
        group = await self.run(self.store.group_by_id, group_id)
        last = group.last if group is not None else None
        if group is None or last is None:
            log.warning("rollback click refused: unknown group", user_id=user_id or "?")
            return False
        service = service_of(last)
        entry = next((s for s in self.catalog.services if s.name == service), None)
        team = entry.team if entry else None
        if not await self.authorizer.may_act(user_id, team):
            log.warning("rollback refused: not a responder", user_id=user_id or "?", team=team or "(none)",
                        service=service or "?", group_key=group.group_key)
            await self._tell(payload, group, user_id, f":no_entry: Only the responders of team *{team}* may roll "
                                                      f"back {service}. Nothing was changed.")
            return False
        reason = await self._stale(group, last, from_version, to_version)
        if entry is None or entry.rollback is None:
            reason = f"the catalog configures no rollback for {service}"
        if reason or entry is None:  # no entry: reason says so
            log.warning("rollback refused: stale click", reason=reason, user_id=user_id, group_key=group.group_key)
            await self._tell(payload, group, user_id, f":warning: Not rolled back: {reason}. Nothing was changed.")
            return False
        key = f"{group.group_id}:{from_version}->{to_version}"
        if not await self.run(self.store.record_action, group.group_key, "rollback", key, user_id,
                              {"from": from_version, "to": to_version}):
            log.info("rollback already claimed; click ignored", group_key=group.group_key, user_id=user_id)
            return False
        user_name = str(user.get("username") or user.get("name") or user_id)
        record = RollbackRecord(key, group.group_key, entry.name, user_id, user_name,
                                from_version, to_version, time.time(), "running", None, None)
        await self.run(self.store.claim_rollback, record)
        await self.run(self.store.enqueue_refresh, group.group_key, rollback_line(record))
        self.wake([group.group_key])
        log.info("rollback started", group_key=group.group_key, user_id=user_id, service=service,
                 from_version=from_version, to_version=to_version)
        task = asyncio.create_task(self._execute(entry, record))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return True

    async def _stale(self, group: Group, last: Notification, from_version: str, to_version: str) -> str | None:
        if last.status != "firing":
            return "the alert is no longer firing"
        offer = ((await self.run(self.store.evidence, group.group_key)) or {}).get("rollback")
        if not offer:
            return "this page offers no rollback"
        if (offer["from"], offer["to"]) != (from_version, to_version):
            return f"the button is out of date (the page now offers {offer['from']} to {offer['to']})"
        return None

    async def _execute(self, entry: Service, record: RollbackRecord) -> None:
        try:
            outcome = await asyncio.to_thread(run_rollback, entry, record.from_version, record.to_version)
            ok, detail = outcome.ok, outcome.detail
        except RollbackError as exc:
            ok, detail = False, str(exc)
        except Exception as exc:  # noqa: BLE001 - the record must never stay "running"
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        await self.run(self.store.finish_rollback, record.idem_key, ok, detail)
        await self.run(self.store.set_action_outcome, "rollback", record.idem_key, "done" if ok else "failed",
                       {"detail": detail[:500]})
        finished = next(r for r in await self.run(self.store.rollbacks, record.group_key) if r.idem_key == record.idem_key)
        await self.run(self.store.enqueue_refresh, record.group_key, rollback_line(finished))
        self.wake([record.group_key])
        (log.info if ok else log.error)("rollback finished", group_key=record.group_key, ok=ok, detail=detail[:300])
