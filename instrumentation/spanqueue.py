"""A bounded, counted batch span processor.

The OTel batch processor drops the oldest spans silently when its queue is full and its exporter
can hang at shutdown. This one drops the *new* span when full, counts every drop in
`bongsu_sdk_dropped_total{signal="traces"}` (queue_full, export_failed, shutdown), exports on its own
thread so the request path only appends to a deque, restarts that thread after a fork, and bounds
shutdown by a deadline however the exporter behaves.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY  # the OTel "do not trace"
from opentelemetry.context import Context, attach, set_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from instrumentation.selfmetrics import dropped

SUPPRESS_KEY = _SUPPRESS_INSTRUMENTATION_KEY  # one name for the SDK's own "do not trace" marker


class BoundedSpanProcessor(SpanProcessor):
    def __init__(self, exporter: SpanExporter, max_queue_size: int = 2048, max_batch_size: int = 512,
                 schedule_delay_s: float = 5.0, on_export: Callable[[bool], None] | None = None) -> None:
        self.exporter = exporter
        self.max_queue_size = max_queue_size
        self.max_batch_size = max_batch_size
        self.schedule_delay_s = schedule_delay_s
        self._on_export = on_export
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._shutdown = False
        self._start_worker()

    def _start_worker(self) -> None:
        self._queue.clear()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._worker = threading.Thread(target=self._run, name="bongsu-span-export", daemon=True)
        self._worker.start()

    def after_fork(self) -> None:
        """In a forked child the worker thread does not exist: start a fresh one, drop the parent's spans,
        and give the exporter its own connections (the parent's socket must not be shared)."""
        if not self._shutdown:
            renew = getattr(self.exporter, "after_fork", None)
            if renew is not None:
                renew()
            self._start_worker()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if not span.context.trace_flags.sampled:
            return
        if self._shutdown:
            dropped("traces", "shutdown")
            return
        queue = self._queue
        if len(queue) >= self.max_queue_size:
            dropped("traces", "queue_full")
            return
        queue.append(span)
        if len(queue) >= self.max_batch_size:
            self._wake.set()

    def _run(self) -> None:
        # Set for this thread so the HTTP client hooks skip the exporter's own requests.
        attach(set_value(SUPPRESS_KEY, True))
        while not self._shutdown:
            self._wake.wait(self.schedule_delay_s)
            self._wake.clear()
            self._drain(deadline=None)

    def _drain(self, deadline: float | None) -> None:
        self._idle.clear()
        try:
            while self._queue and (deadline is None or time.monotonic() < deadline):
                batch = [self._queue.popleft() for _ in range(min(self.max_batch_size, len(self._queue)))]
                self._export(batch)
        finally:
            self._idle.set()

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        try:
            result = self.exporter.export(batch)
        except Exception:  # noqa: BLE001 - an exporter bug must not kill the worker
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            dropped("traces", "export_failed", len(batch))
        if self._on_export is not None:
            self._on_export(result is SpanExportResult.SUCCESS)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Ask the worker to export what is queued; wait at most `timeout_millis`."""
        if self._shutdown:
            return False
        deadline = time.monotonic() + timeout_millis / 1000
        while self._queue and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return self._idle.wait(max(0.0, deadline - time.monotonic())) and not self._queue

    def shutdown(self, timeout_s: float = 5.0) -> bool:  # type: ignore[override]  # a wider signature: the SDK calls it with a deadline and reads the result; OTel calls shutdown() and ignores it
        """Flush within `timeout_s`, then stop; spans still queued at the deadline are counted as dropped.
        True when nothing had to be dropped."""
        if self._shutdown:
            return True
        deadline = time.monotonic() + timeout_s
        flushed = self.force_flush(int(timeout_s * 1000 * 0.8))
        self._shutdown = True
        self._wake.set()
        left = len(self._queue)
        self._queue.clear()
        if left:
            dropped("traces", "shutdown", left)
        # The exporter's own shutdown can hang (a collector that never answers): give it what is left
        # of the deadline on a daemon thread and walk away.
        closer = threading.Thread(target=self._close_exporter, name="bongsu-span-close", daemon=True)
        closer.start()
        closer.join(max(0.0, deadline - time.monotonic()))
        return flushed and not left

    def _close_exporter(self) -> None:
        try:
            self.exporter.shutdown()
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            pass
