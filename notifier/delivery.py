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
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bongsu.catalog import Catalog
from notifier.graph import GraphPoster
from notifier.logs import log
from notifier.metrics import Metrics
from notifier.payload import Notification
from notifier.render import GroupView, Message, change_note, group_message
from notifier.resolution import value_at_resolution
from notifier.routing import dashboard_url, runbook_url
from notifier.runbooks import runbook_excerpt
from notifier.settings import Settings
from notifier.sinks import CHANNEL_ERRORS, PermanentError, Posted, RetryLater, Sink
from notifier.store import Group, Pending, Store


FULL_SCAN_INTERVAL_S = 5.0


class DeliveryFailed(Exception):
    """A permanent error for this delivery; logged, counted and recorded, then the queue moves on."""


class Deliverer:
    def __init__(self, store: Store, sink: Sink, catalog: Catalog, settings: Settings, metrics: Metrics,
                 store_executor: ThreadPoolExecutor, graphs: GraphPoster | None = None) -> None:
        self.store, self.sink, self.catalog, self.settings, self.metrics = store, sink, catalog, settings, metrics
        self.graphs = graphs
        self._store_executor = store_executor
        self._slack_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="slack")
        self._wake = asyncio.Event()
        self._active: dict[str, asyncio.Task] = {}
        self._due: set[str] = set()
        self._background: set[asyncio.Task] = set()
        self._next_slot: dict[str, float] = {}
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._channel_ids: dict[str, str] = {}
        self.running = False

    def wake(self, group_keys: Iterable[str] = ()) -> None:
        """New work for these groups (or, with none given, look at the whole outbox soon)."""
        self._due.update(group_keys)
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
        next_scan = 0.0
        try:
            while True:
                if time.monotonic() >= next_scan:
                    self._due.update(await self._db(self.store.pending_groups))
                    self.metrics.queue_depth.set(await self._db(self.store.queue_depth))
                    next_scan = time.monotonic() + FULL_SCAN_INTERVAL_S
                for group_key in [key for key in self._due if key not in self._active]:
                    self._due.discard(group_key)
                    self._active[group_key] = asyncio.create_task(self._drain(group_key))
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                    # races with the event being set, and shutdown would then hang here.
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            self.running = False
            for task in [*self._active.values(), *self._background]:
                task.cancel()
            self._slack_executor.shutdown(wait=False, cancel_futures=True)

    async def _drain(self, group_key: str) -> None:
        try:
            while (item := await self._db(self.store.next_pending, group_key)) is not None:
                await self._deliver(item)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one broken group must not stop the loop; it is retried
            log.exception("delivery crashed; the group will be retried", group_key=group_key)
            await asyncio.sleep(self.settings.retry_cap)
        finally:
            self._active.pop(group_key, None)
            self._wake.set()

    # --- one delivery -----------------------------------------------------------------------------

    async def _deliver(self, item: Pending) -> None:
        group: Group = await self._db(self.store.group, item.group_key)
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
        resolved_value = await self._resolution_value(notification)
        if group.root_ts is None:
            # Rendered only once the channel's turn comes: a backlog of new groups costs no CPU meanwhile.
            posted = await self._post(item, "post", group,
                                      lambda: group_message(self._view(notification, group, resolved_value)), None)
            await self._db(self.store.set_root, item.group_key, group.channel, posted.channel_id, posted.ts)
            if self.graphs is not None and notification.status == "firing":
                self._spawn(self._graph(notification, posted))
            return posted
        note = change_note(group.last, notification)
        await self._update(item, group, group_message(self._view(notification, group, resolved_value)))
        return await self._post(item, "reply", group, lambda: Message(note, None), group.root_ts)

    async def _deliver_refresh(self, item: Pending, group: Group) -> Posted:
        current = group.last
        if group.root_ts is None or current is None:
            raise DeliveryFailed("no message to refresh yet")
        note = json.loads(item.payload)["note"]
        await self._update(item, group, group_message(self._view(current, group,
                                                                 await self._resolution_value(current))))
        return await self._post(item, "reply", group, lambda: Message(note, None), group.root_ts)

    # --- steps ------------------------------------------------------------------------------------

    async def _post(self, item: Pending, step: str, group: Group, render: Callable[[], Message],
                    thread_ts: str | None) -> Posted:
        record = item.steps.setdefault(step, {})
        if "ts" in record:
            return Posted(record["channel_id"], record["ts"])
        step_id = f"{self.store.instance}:{item.id}:{step}"
        uncertain = bool(record.get("sent"))  # a previous process may have posted it and died
        attempt = 0
        while True:
            channel = group.channel_id if thread_ts else group.channel
            try:
                if uncertain:
                    found = await self._find(channel, step_id, thread_ts)
                    if found is not None:
                        log.info("found an earlier attempt's message; not posting again", step=step_id)
                        return await self._posted(item, record, found)
                await self._pace(channel)
                if not record.get("sent"):
                    record["sent"] = True
                    await self._db(self.store.save_steps, item.id, item.steps)
                message = render()
                posted = await self._slack(self.sink.post, channel, message.text, message.blocks, thread_ts, step_id)
                self.metrics.delivered.labels(self.sink.method_post).inc()
                if not thread_ts:
                    self._channel_ids[channel] = posted.channel_id
                return await self._posted(item, record, posted)
            except RetryLater as exc:
                uncertain = exc.uncertain
                attempt += 1
                await self._retry_wait(channel, exc, attempt, item)
            except PermanentError as exc:
                self.metrics.failures.labels(exc.error).inc()
                default = self.catalog.slack.default_channel
                if not thread_ts and exc.error in CHANNEL_ERRORS and group.channel != default:
                    log.warning("channel refused the message; posting to the default channel instead",
                                error=exc.error, channel=group.channel, fallback=default, group_key=item.group_key)
                    group.channel = default
                    await self._db(self.store.set_channel, item.group_key, default)
                    continue
                log.error("permanent Slack error; delivery dropped", error=exc.error, channel=channel,
                          group_key=item.group_key, step=step)
                raise DeliveryFailed(exc.error) from None

    async def _find(self, channel: str, step_id: str, thread_ts: str | None) -> Posted | None:
        """The message an unanswered attempt may have posted; None when it cannot be looked up."""
        try:
            return await self._slack(self.sink.find, self._channel_ids.get(channel, channel), step_id, thread_ts)
        except PermanentError as exc:  # e.g. no channels:history scope: posting again is the lesser evil
            self.metrics.failures.labels(exc.error).inc()
            log.warning("cannot look for an earlier attempt; posting again", error=exc.error, step=step_id)
            return None

    async def _posted(self, item: Pending, record: dict, posted: Posted) -> Posted:
        record.update(ts=posted.ts, channel_id=posted.channel_id)
        await self._db(self.store.save_steps, item.id, item.steps)
        return posted

    async def _update(self, item: Pending, group: Group, message: Message) -> None:
        record = item.steps.setdefault("update", {})
        if record.get("done"):
            return
        attempt = 0
        while True:
            try:
                await self._slack(self.sink.update, group.channel_id, group.root_ts, message.text, message.blocks)
                self.metrics.delivered.labels(self.sink.method_update).inc()
                break
            except RetryLater as exc:
                attempt += 1
                await self._retry_wait(group.channel_id, exc, attempt, item)
            except PermanentError as exc:
                self.metrics.failures.labels(exc.error).inc()
                log.error("permanent Slack error updating the group's message", error=exc.error,
                          group_key=item.group_key)
                break  # the thread reply still tells the story; the next state updates again
        record["done"] = True
        await self._db(self.store.save_steps, item.id, item.steps)

    async def _pace(self, channel: str) -> None:
        """About one message per second per channel, as Slack asks."""
        key = self._channel_ids.get(channel, channel)
        lock = self._channel_locks.setdefault(key, asyncio.Lock())
        async with lock:
            wait = self._next_slot.get(key, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_slot[key] = time.monotonic() + self.settings.pace

    async def _retry_wait(self, channel: str, exc: RetryLater, attempt: int, item: Pending) -> None:
        self.metrics.retries.labels(exc.reason).inc()
        if exc.after is not None:  # Retry-After: the whole channel waits, not just this group
            key = self._channel_ids.get(channel, channel)
            self._next_slot[key] = max(self._next_slot.get(key, 0.0), time.monotonic() + exc.after)
            delay = exc.after
        else:
            delay = min(self.settings.retry_cap, self.settings.retry_base * 2 ** min(attempt, 16))
            delay *= random.uniform(0.5, 1.0)  # jitter: replicas and groups do not retry in lockstep
        log.warning("delivery will be retried", reason=exc.reason, attempt=attempt, delay=round(delay, 2),
                    group_key=item.group_key)
        await asyncio.sleep(delay)

    # --- graph --------------------------------------------------------------------------------------

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _graph(self, notification: Notification, root: Posted) -> None:
        """Best effort, after the message: a missing graph never delays or blocks a notification."""
        try:
            async with asyncio.timeout(self.settings.graph_timeout):
                png = await self._slack(self.graphs.render, notification)
            if png is None:
                return
            async with asyncio.timeout(self.settings.graph_timeout):
                await self._slack(self.sink.upload, root.channel_id, root.ts, png,
                                  f"{notification.alerts[0].name}, last hour")
            self.metrics.delivered.labels("files_upload_v2").inc()
        except (TimeoutError, RetryLater, PermanentError, OSError, ValueError) as exc:
            log.warning("graph skipped", reason=type(exc).__name__, detail=str(exc)[:200],
                        group_key=notification.group_key)
