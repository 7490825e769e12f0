"""Who may press an action button (silence, ack, roll back): the team's responders from the catalog.

Seeing a message is not permission to act on it (guests and Slack Connect users see it too), and a
display name can be edited by its owner, so the check uses the payload's stable `user.id` against
`teams[].responders`: user IDs directly, user-group members through Slack's `usergroups.users.list`
(cached briefly, so a click costs no Slack call most of the time). A group with no known team may
be acted on by the responders of any team.
"""

from __future__ import annotations

import asyncio
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bongsu.catalog import Catalog, Team
from notifier.logs import log

USERGROUP_CACHE_S = 60.0


class Authorizer:
    def __init__(self, catalog: Catalog, slack: WebClient | None = None, cache_s: float = USERGROUP_CACHE_S) -> None:
        self._catalog, self._slack, self._cache_s = catalog, slack, cache_s
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _teams(self, team: str | None) -> list[Team]:
        found = self._catalog.team(team) if team else None
        return [found] if found else list(self._catalog.teams)

    async def may_act(self, user_id: str, team: str | None) -> bool:
        """True when `user_id` is one of the team's responders (directly or through a user group)."""
        if not user_id:
            return False
        teams = self._teams(team)
        if any(user_id in t.responders.users for t in teams):
            return True
        for usergroup in {g for t in teams for g in t.responders.usergroups}:
            if user_id in await self._usergroup_members(usergroup):
                return True
        return False

    async def _usergroup_members(self, usergroup: str) -> frozenset[str]:
        async with self._locks.setdefault(usergroup, asyncio.Lock()):
            cached = self._members.get(usergroup)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            members = await asyncio.to_thread(self._lookup, usergroup)
            if members is None:  # Slack did not answer: keep a stale list rather than lock everyone out
                return cached[1] if cached else frozenset()
            self._members[usergroup] = (time.monotonic() + self._cache_s, members)
            return members

    def _lookup(self, usergroup: str) -> frozenset[str] | None:
        if self._slack is None:
            log.warning("user group cannot be checked offline (no Slack token)", usergroup=usergroup)
            return None
        try:
            answer = self._slack.usergroups_users_list(usergroup=usergroup)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("user group look-up failed", usergroup=usergroup, error=type(exc).__name__)
            return None
        return frozenset(answer.get("users") or [])
