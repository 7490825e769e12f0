"""Non-blocking log shipping to Fluentd / Fluent Bit over the forward protocol (fluent-logger).

fluent-logger's sender writes on the caller's thread under a lock (3 s timeout) and its async
variant queues without bound. Here the request path only appends to a bounded deque; one daemon
thread sends with a short socket timeout. A full queue, a failed send and a shutdown with records
left are each counted in `bongsu_sdk_dropped_total{signal="logs",reason}`.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from fluent.sender import EventTime, FluentSender

from instrumentation.selfmetrics import dropped

SEND_TIMEOUT_S = 1.0
BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)


class FluentShipper:
    def __init__(self, host: str, port: int, tag: str, max_queue: int = 10_000) -> None:
        self.host, self.port, self.tag = host, port, tag
        self.max_queue = max_queue
        self._queue: collections.deque[tuple[int, str]] = collections.deque()
        self._closed = False
        self._start()

    def _start(self) -> None:
        self._queue.clear()
        self._sender = FluentSender(self.tag, host=self.host, port=self.port, timeout=SEND_TIMEOUT_S,
                                    nanosecond_precision=True)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name="bongsu-fluent", daemon=True)
        self._thread.start()

    def after_fork(self) -> None:
        if not self._closed:
            self._start()

    def ship(self, line: str) -> None:
        """Called on the request path with the JSON log line: O(1), never blocks, never raises."""
        if self._closed:
            dropped("logs", "shutdown")
            return
        if len(self._queue) >= self.max_queue:
            dropped("logs", "queue_full")
            return
        self._queue.append((time.time_ns(), line))
        if not self._wake.is_set():  # set() takes a lock; skip it while the sender is already woken
            self._wake.set()

    def _run(self) -> None:
        pid = os.getpid()
        while not self._closed and os.getpid() == pid:
            self._wake.wait(1.0)
            self._wake.clear()
            self._idle.clear()
            try:
                self._drain()
            finally:
                self._idle.set()

    def _drain(self) -> None:
        while self._queue and not self._closed:
            stamp, line = self._queue[0]
            try:
                record = json.loads(line)  # parsed here, off the request path
            except ValueError:
                self._queue.popleft()
                dropped("logs", "format_error")
                continue
            if self._sender.emit_with_time(None, EventTime.from_unix_nano(stamp), record):
                self._queue.popleft()
                self._failures = 0
                continue
            # Failed: the sender keeps the packet as "pending" and would resend it with the next one;
            # we own retries instead, so drop that copy and count the record once.
            self._sender.pendings = None
            self._queue.popleft()
            dropped("logs", "send_failed")
            delay = BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)]
            self._failures += 1
            # While backing off the queue keeps filling and overflows are counted as queue_full.
            if self._closing.wait(delay):
                return

    def flush(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while (self._queue or not self._idle.is_set()) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self._queue

    def close(self, timeout_s: float) -> bool:
        """Flush within `timeout_s`, then drop (and count) whatever is left; never waits longer.
        True when everything queued was sent."""
        if self._closed:
            return True
        deadline = time.monotonic() + timeout_s
        self.flush(timeout_s * 0.8)
        self._closed = True
        self._closing.set()
        self._wake.set()
        left = len(self._queue)
        self._queue.clear()
        if left:
            dropped("logs", "shutdown", left)
        closer = threading.Thread(target=self._sender.close, name="bongsu-fluent-close", daemon=True)
        closer.start()
        closer.join(max(0.0, deadline - time.monotonic()))
        return not left

    @property
    def queued(self) -> int:
        return len(self._queue)
