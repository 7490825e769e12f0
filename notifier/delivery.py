"""The delivery loop: drains the outbox group by group, in order, paced per channel, retrying forever.

Each Slack call of a delivery is a step recorded in the outbox. A post is marked as sent *before*
it is attempted, so after a crash or an unanswered request the next attempt first looks for the
message by its metadata (a step id) instead of posting it twice: exactly once per group state.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bongsu.catalog import Catalog
from notifier.evidence import gather
from notifier.evidence_blocks import report_reply
from notifier.graph import GraphPoster
from notifier.logs import log
from notifier.metrics import Metrics
from notifier.ordering import reconcile
from notifier.payload import Notification
from notifier.render import GroupView, Message, change_note, group_message
from notifier.resolution import value_at_resolution
from notifier.routing import dashboard_url, runbook_url
from notifier.runbooks import runbook_excerpt
from notifier.settings import Settings
from notifier.sinks import CHANNEL_ERRORS, CHANNEL_ID, PermanentError, Posted, RetryLater, Sink
from notifier.recovery_store import TopReport
from notifier.store import Group, LeaseLost, Pending, StepRecord, Store


FULL_SCAN_INTERVAL_S = 5.0
EVIDENCE_RETRIES_S = (0.0, 10.0, 20.0, 30.0)  # waits before each look for error reports
DIRECTORY_REFRESH_S = 30.0  # conversations.list is Tier 2 (about 20 calls a minute per workspace)
CLAIM_INTERVAL_S = 1.0
CLAIM_SOON_S = 0.02  # new work may sit in a free lane: claim at once, but not more often than this
PRUNE_INTERVAL_S = 600.0  # how often leases are renewed and free lanes claimed (takeover <= ttl + this)


class DeliveryFailed(Exception):
    """A permanent error for this delivery; logged, counted and recorded, then the queue moves on."""


class ChannelGone(Exception):
    """The group's channel refuses its thread (bot removed, archived): move it to the default channel."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Deliverer:
    def __init__(self, store: Store, sink: Sink, catalog: Catalog, settings: Settings, metrics: Metrics,
                 store_executor: ThreadPoolExecutor, graphs: GraphPoster | None = None) -> None:
        self.store, self.sink, self.catalog, self.settings, self.metrics = store, sink, catalog, settings, metrics
        self.graphs = graphs
        self._store_executor = store_executor
        self._slack_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="slack")
        self._wake = asyncio.Event()
        self._active: dict[str, asyncio.Task[None]] = {}
        self._due: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._next_slot: dict[str, float] = {}
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._directory: dict[str, str] = {}
        self._directory_at = -DIRECTORY_REFRESH_S
        self._directory_lock = asyncio.Lock()
        self._lanes: set[str] = set()
        self._claim_soon = False
        self.running = False

    def wake(self, group_keys: Iterable[str] = ()) -> None:
        """New work for these groups (or, with none given, look at the whole outbox soon)."""
        self._due.update(group_keys)
        self._claim_soon = True
        self._wake.set()

    async def _db(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._store_executor, lambda: call(*args, **kwargs))

    async def _slack(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._slack_executor, call, *args)

    async def run(self) -> None:
        """Start a drain per group with work. The outbox is scanned in full at start and every few
        seconds (a safety net); in between, intake names the groups it added to, so a backlog of
        thousands is not rescanned on every webhook."""
        self.running = True
        next_scan = next_claim = last_claim = 0.0
        next_prune = time.monotonic() + 30.0
        try:
            while True:
                now = time.monotonic()
                if now >= next_prune:
                    next_prune = now + PRUNE_INTERVAL_S
                    self._spawn(self._prune())
                self._start_drains()  # groups intake named, in lanes already held: no claim in their way
                if now >= next_claim or (self._claim_soon and now - last_claim >= CLAIM_SOON_S):
                    self._claim_soon = False
                    last_claim, next_claim = now, now + CLAIM_INTERVAL_S
                    if await self._claim() or self._lanes:
                        # New lanes, or lanes shared with replicas whose intake may have added groups
                        # to them: look at their pending work now (SQLite holds no lanes).
                        next_scan = 0.0
                if time.monotonic() >= next_scan:
                    self._due.update(await self._db(self.store.pending_groups))
                    self.metrics.queue_depth.set(await self._db(self.store.queue_depth))
                    next_scan = time.monotonic() + FULL_SCAN_INTERVAL_S
                self._start_drains()
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                    # races with the event being set, and shutdown would then hang here.
                    soon = CLAIM_SOON_S - (time.monotonic() - last_claim) if self._claim_soon else 1.0
                    async with asyncio.timeout(min(1.0, max(0.0, soon))):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            self.running = False
            for task in [*self._active.values(), *self._background]:
                task.cancel()
            self._slack_executor.shutdown(wait=False, cancel_futures=True)

    def _start_drains(self) -> None:
        for group_key in [key for key in self._due if key not in self._active]:
            self._due.discard(group_key)
            self._active[group_key] = asyncio.create_task(self._drain(group_key))

    async def _prune(self) -> None:
        """Delivered history past the retention goes; pending work and the groups' threads never do."""
        try:
            gone = await self._db(self.store.prune, time.time() - self.settings.retention_s)
        except Exception as exc:  # noqa: BLE001 - pruning can wait for the next round
            log.warning("outbox pruning failed", error=type(exc).__name__)
            return
        if gone:
            log.info("outbox pruned", rows=gone, retention_s=self.settings.retention_s)

    async def _claim(self) -> bool:
        """Renew this replica's delivery leases and take free or expired lanes; True when new ones came."""
        try:
            held = await self._db(self.store.claim_lanes, self.settings.lease_ttl)
        except Exception as exc:  # noqa: BLE001 - the database may be down for a moment; keep trying
            log.warning("lease renewal failed", error=type(exc).__name__)
            return False
        new = set(held) - self._lanes
        lost = self._lanes - set(held)
        if new:
            log.info("delivery lanes claimed", lanes=len(new), held=len(held))
        if lost:
            log.warning("delivery lanes lost", lanes=len(lost))
        self._lanes = set(held)
        return bool(new)

    async def _drain(self, group_key: str) -> None:
        try:
            while (item := await self._db(self.store.next_pending, group_key)) is not None:
                await self._deliver(item)
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            log.warning("delivery lease lost; another replica continues this group", group_key=group_key)
        except Exception:  # noqa: BLE001 - one broken group must not stop the loop; it is retried
            log.exception("delivery crashed; the group will be retried", group_key=group_key)
            await asyncio.sleep(self.settings.retry_cap)
        finally:
            self._active.pop(group_key, None)
            self._wake.set()

    # --- one delivery -----------------------------------------------------------------------------

    async def _deliver(self, item: Pending) -> None:
        group: Group = await self._db(self.store.group, item.group_key)
        if item.kind == "alert":
            shown = reconcile(Notification.model_validate_json(item.payload), group.last)
            if shown is None:  # an HA twin's late or a retried older state: what is shown is newer
                await self._db(self.store.finish, item, state="superseded", channel=group.channel, ts=None,
                               thread_ts=group.root_ts, error="older than the state already shown")
                log.info("stale group state skipped", group_key=item.group_key, status=item.status)
                return
            item.payload = shown.to_json()
            item.status = shown.status
        try:
            if item.kind == "alert":
                posted = await self._deliver_state(item, group)
            else:
                posted = await self._deliver_refresh(item, group)
        except DeliveryFailed as exc:
            group = await self._db(self.store.group, item.group_key)
            await self._db(self.store.finish, item, state="failed", channel=group.channel, ts=None,
                           thread_ts=group.root_ts, error=str(exc))
            return
        group = await self._db(self.store.group, item.group_key)
        await self._db(self.store.finish, item, state="delivered", channel=group.channel, ts=posted.ts,
                       thread_ts=group.root_ts)
        if item.kind == "alert":
            self.metrics.latency.observe(max(0.0, time.time() - item.received_at))
        log.info("delivered", group_key=item.group_key, kind=item.kind, status=item.status,
                 channel=group.channel, ts=posted.ts)

    async def _view_async(self, notification: Notification, group: Group) -> GroupView:
        """The view plus what the store keeps beside the group (its evidence and rollback records), and
        for a resolved group the first alert's value at resolution (from Prometheus)."""
        view = self._view(notification, group, await self._resolution_value(notification))
        view.evidence = await self._db(self.store.evidence, group.group_key)
        view.rollbacks = await self._db(self.store.rollbacks, group.group_key)
        view.trace_url_template = self.settings.trace_url_template
        return view

    async def _resolution_value(self, notification: Notification) -> float | None:
        """The first alert's value when it resolved (notifier/resolution.py), from PROMETHEUS_URL."""
        if notification.status != "resolved" or not self.settings.prometheus_url:
            return None
        return await asyncio.to_thread(value_at_resolution, self.settings.prometheus_url, notification.alerts[0])

    def _view(self, notification: Notification, group: Group, resolved_value: float | None = None) -> GroupView:
        alertname = notification.group_labels.get("alertname") or notification.alerts[0].name
        return GroupView(
            notification=notification, group_id=group.group_id, resolved_value=resolved_value,
            runbook_excerpt=runbook_excerpt(self.settings.runbooks_dir, alertname),
            runbook_url=runbook_url(notification, self.catalog),
            dashboard_url=dashboard_url(notification, self.catalog),
            acked_by=group.acked_by, acked_at=group.acked_at,
            silenced_by=group.silenced_by,
            silenced_until=group.silenced_until if (group.silenced_until or 0) > time.time() else None,
        )

    async def _deliver_state(self, item: Pending, group: Group) -> Posted:
        notification = Notification.model_validate_json(item.payload)
        if group.root_ts is None:
            # Rendered only once the channel's turn comes: a backlog of new groups costs no CPU meanwhile.
            posted = await self._root(item, group, notification, "post")
            if self.graphs is not None and notification.status == "firing":
                self._spawn(self._graph(self.graphs, notification, posted))
            if notification.status == "firing" and await self._db(self.store.evidence, group.group_key) is None:
                self._spawn(self._evidence(notification))
            return posted
        note = change_note(group.last, notification)
        return await self._in_thread(item, group, notification, note)

    async def _deliver_refresh(self, item: Pending, group: Group) -> Posted:
        current = group.last
        if group.root_ts is None or current is None:
            raise DeliveryFailed("no message to refresh yet")
        note = json.loads(item.payload)["note"]
        return await self._in_thread(item, group, current, note)

    async def _root(self, item: Pending, group: Group, shown: Notification, step: str) -> Posted:
        view = await self._view_async(shown, group)
        posted = await self._post(item, step, group, lambda: group_message(view), None)
        await self._db(self.store.set_root, item.group_key, group.channel, posted.channel_id, posted.ts)
        group.channel_id, group.root_ts = posted.channel_id, posted.ts
        return posted

    async def _in_thread(self, item: Pending, group: Group, shown: Notification, note: str) -> Posted:
        """Update the group's message and reply in its thread. When its channel refuses (the bot was
        removed, the channel archived), the group moves to the default channel: a new message there,
        and the thread goes on under it."""
        try:
            await self._update(item, group, group_message(await self._view_async(shown, group)))
            return await self._post(item, "reply", group, lambda: Message(note, None), group.root_ts)
        except ChannelGone as gone:
            default = self.catalog.slack.default_channel
            log.warning("the group's channel refused; moving the group to the default channel",
                        error=gone.error, channel=group.channel, fallback=default, group_key=item.group_key)
            group.channel, group.channel_id, group.root_ts = default, None, None
            await self._db(self.store.set_channel, item.group_key, default, None)
            await self._root(item, group, shown, "relocate")
            return await self._post(item, "reply-relocated", group, lambda: Message(note, None), group.root_ts)

    # --- steps ------------------------------------------------------------------------------------

    async def _post(self, item: Pending, step: str, group: Group, render: Callable[[], Message],
                    thread_ts: str | None) -> Posted:
        record = item.steps.setdefault(step, {})
        if "ts" in record:
            return Posted(record["channel_id"], record["ts"])
        step_id = f"{self.store.instance}:{item.id}:{step}"
        # A previous attempt (this process or a replica that died) may have posted it: look first,
        # and stay uncertain until a look-up has really answered (a 429 or an outage proves nothing).
        uncertain = bool(record.get("sent"))
        attempt = 0
        while True:
            channel: str = group.channel_id or group.channel
            try:
                # A thread reply goes where its root is: the persisted ID (resolved here if ever missing).
                channel = await self._channel_id(item, group)
                if uncertain and not CHANNEL_ID.match(channel or ""):
                    # The lost post went by name; look-ups need the ID, so list the channels again now.
                    channel = await self._lookup_channel(group.channel, fresh=True) or channel
                if uncertain:
                    found = await self._find(channel, step_id, thread_ts, record.get("sent_at", 0.0) - 120)
                    if found is not None:
                        log.info("found an earlier attempt's message; not posting again", step=step_id)
                        return await self._posted(item, record, found)
                    uncertain = False
                await self._pace("chat.postMessage", channel, per_channel=True)
                if not record.get("sent"):
                    record.update({"sent": True, "sent_at": time.time()})
                    await self._db(self.store.save_steps, item.id, item.steps)  # fenced: no lease, no post
                message = render()
                posted = await self._slack(self.sink.post, channel, message.text, message.blocks, thread_ts, step_id)
                self.metrics.delivered.labels(self.sink.method_post).inc()
                if not thread_ts and not CHANNEL_ID.match(channel):
                    self._directory["#" + channel.lstrip("#")] = posted.channel_id
                return await self._posted(item, record, posted)
            except RetryLater as exc:
                uncertain = uncertain or exc.uncertain
                attempt += 1
                await self._retry_wait(exc.method or "chat.postMessage", channel, exc, attempt, item)
            except PermanentError as exc:
                self.metrics.failures.labels(exc.error).inc()
                default = self.catalog.slack.default_channel
                if exc.error in CHANNEL_ERRORS and group.channel != default:
                    if thread_ts:
                        raise ChannelGone(exc.error) from None
                    log.warning("channel refused the message; posting to the default channel instead",
                                error=exc.error, channel=group.channel, fallback=default, group_key=item.group_key)
                    group.channel, group.channel_id = default, None
                    await self._db(self.store.set_channel, item.group_key, default, None)
                    continue
                log.error("permanent Slack error; delivery dropped", error=exc.error, channel=channel,
                          group_key=item.group_key, step=step)
                raise DeliveryFailed(exc.error) from None

    async def _channel_id(self, item: Pending, group: Group) -> str:
        """The group's channel as an ID, resolved once and persisted: look-ups need IDs, never names."""
        if group.channel_id:
            return group.channel_id
        found = group.channel if CHANNEL_ID.match(group.channel) else await self._lookup_channel(group.channel)
        if found is None:
            return group.channel  # not listed (yet): post by name; Slack's answer carries the ID
        group.channel_id = found
        await self._db(self.store.set_channel, item.group_key, group.channel, found)
        return found

    async def _lookup_channel(self, name: str, fresh: bool = False) -> str | None:
        """From the channel directory, fetched at most every DIRECTORY_REFRESH_S (one call serves all
        groups), or now when `fresh` (an uncertain post must be looked up by ID)."""
        key = name if name.startswith("#") else "#" + name
        async with self._directory_lock:
            stale = time.monotonic() - self._directory_at > DIRECTORY_REFRESH_S
            if key not in self._directory and (stale or fresh):
                await self._pace("conversations.list")
                try:
                    self._directory.update(await self._slack(self.sink.channel_directory))
                except RetryLater as exc:
                    exc.method = "conversations.list"
                    raise
                self._directory_at = time.monotonic()
        return self._directory.get(key)

    async def _find(self, channel: str, step_id: str, thread_ts: str | None, oldest: float) -> Posted | None:
        """The message an unanswered attempt may have posted; None once Slack answered it is not there."""
        await self._pace("conversations.replies" if thread_ts else "conversations.history")
        try:
            found: Posted | None = await self._slack(self.sink.find, channel, step_id, thread_ts, oldest)
            return found
        except RetryLater as exc:
            exc.method = exc.method or ("conversations.replies" if thread_ts else "conversations.history")
            raise
        except PermanentError as exc:  # e.g. no channels:history scope: posting again is the lesser evil
            self.metrics.failures.labels(exc.error).inc()
            log.warning("cannot look for an earlier attempt; posting again", error=exc.error, step=step_id)
            return None

    async def _posted(self, item: Pending, record: StepRecord, posted: Posted) -> Posted:
        record.update({"ts": posted.ts, "channel_id": posted.channel_id})
        await self._db(self.store.save_steps, item.id, item.steps)
        return posted

    async def _update(self, item: Pending, group: Group, message: Message) -> None:
        record = item.steps.setdefault("update", {})
        if record.get("done"):
            return
        attempt = 0
        while True:
            try:
                await self._pace("chat.update")
                await self._slack(self.sink.update, group.channel_id, group.root_ts, message.text, message.blocks)
                self.metrics.delivered.labels(self.sink.method_update).inc()
                break
            except RetryLater as exc:
                attempt += 1
                await self._retry_wait("chat.update", group.channel_id, exc, attempt, item)
            except PermanentError as exc:
                self.metrics.failures.labels(exc.error).inc()
                if exc.error in CHANNEL_ERRORS and group.channel != self.catalog.slack.default_channel:
                    raise ChannelGone(exc.error) from None
                log.error("permanent Slack error updating the group's message", error=exc.error,
                          group_key=item.group_key)
                break  # the thread reply still tells the story; the next state updates again
        record["done"] = True
        await self._db(self.store.save_steps, item.id, item.steps)

    @staticmethod
    def _scope(method: str, channel: str | None, per_channel: bool) -> str:
        """Slack's limits: posting is per channel, chat.update and the look-ups per method per workspace."""
        return f"{method}:{channel}" if per_channel else method

    async def _pace(self, method: str, channel: str | None = None, per_channel: bool = False) -> None:
        """Wait for the scope's next slot: about one message per second per channel, and any Retry-After."""
        key = self._scope(method, channel, per_channel)
        lock = self._channel_locks.setdefault(key, asyncio.Lock())
        async with lock:
            wait = self._next_slot.get(key, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if per_channel:
                self._next_slot[key] = time.monotonic() + self.settings.pace

    async def _retry_wait(self, method: str, channel: str | None, exc: RetryLater, attempt: int,
                          item: Pending) -> None:
        self.metrics.retries.labels(exc.reason).inc()
        if exc.after is not None:  # Retry-After holds the whole scope (channel or method), not just this group
            key = self._scope(method, channel, method == "chat.postMessage")
            self._next_slot[key] = max(self._next_slot.get(key, 0.0), time.monotonic() + exc.after)
            delay = 0.0  # _pace waits it out before the next call in this scope
        else:
            delay = min(self.settings.retry_cap, self.settings.retry_base * 2 ** min(attempt, 16))
            delay *= random.uniform(0.5, 1.0)  # jitter: replicas and groups do not retry in lockstep
        log.warning("delivery will be retried", reason=exc.reason, method=method, attempt=attempt,
                    delay=round(exc.after if exc.after is not None else delay, 2), group_key=item.group_key)
        await asyncio.sleep(delay)

    # --- evidence -----------------------------------------------------------------------------------

    async def _evidence(self, notification: Notification) -> None:
        """After the page: gather the evidence (notifier/evidence.py), keep it with the group and queue
        an in-place update plus the full report in the thread. Error reports can trail the alert, so
        it looks again a few times while it finds none."""
        group_key = notification.group_key
        try:
            for delay in EVIDENCE_RETRIES_S:
                await asyncio.sleep(delay)
                found = await self._slack(gather, notification, self.catalog, self._top_reports,
                                          self.settings.prometheus_url, self.settings.deploy_lookback_s)
                if found is None:
                    return
                if found["fingerprints"] or delay == EVIDENCE_RETRIES_S[-1]:
                    break
            await self._db(self.store.set_evidence, group_key, found)
            await self._db(self.store.enqueue_refresh, group_key,
                           report_reply(found, self.settings.trace_url_template))
            self.wake([group_key])
            log.info("evidence gathered", group_key=group_key, fingerprints=len(found["fingerprints"]),
                     deploy=bool(found.get("deploy") and found["deploy"].get("deployed_at")))
        except Exception as exc:  # noqa: BLE001 - evidence is best effort; the page is already out
            log.warning("evidence skipped", reason=type(exc).__name__, detail=str(exc)[:200], group_key=group_key)

    def _top_reports(self, service: str, since: float, until: float) -> list[TopReport]:
        return self.store.top_reports(service, since, until)

    # --- graph --------------------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _graph(self, graphs: GraphPoster, notification: Notification, root: Posted) -> None:
        """Best effort, after the message: a missing graph never delays or blocks a notification."""
        try:
            async with asyncio.timeout(self.settings.graph_timeout):
                png = await self._slack(graphs.render, notification)
            if png is None:
                return
            async with asyncio.timeout(self.settings.graph_timeout):
                await self._slack(self.sink.upload, root.channel_id, root.ts, png,
                                  f"{notification.alerts[0].name}, last hour")
            self.metrics.delivered.labels("files_upload_v2").inc()
        except (TimeoutError, RetryLater, PermanentError, OSError, ValueError) as exc:
            log.warning("graph skipped", reason=type(exc).__name__, detail=str(exc)[:200],
                        group_key=notification.group_key)
