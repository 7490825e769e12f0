"""Cardinality guard: caps the distinct label sets of one prometheus-client metric.

prometheus-client creates a child per label set for ever; one raw path or user id in a label is
enough to exhaust memory and Prometheus. Past the cap, new label sets are folded into a single
series whose every label value is `OVERFLOW`, and each fold is counted in
`bongsu_sdk_cardinality_overflow_total{metric}`. Known label sets keep working.
"""

from __future__ import annotations

import threading
from typing import Any

from bongsu import conventions
from instrumentation.selfmetrics import CARDINALITY_OVERFLOW

OVERFLOW = conventions.OVERFLOW_LABEL_VALUE
DEFAULT_MAX_SERIES = 2000


class LabelGuard:
    """Maps label-value tuples to prometheus-client children, creating at most `max_series`.

    The lookup of a known tuple is one dict access, cheaper than prometheus-client's own
    `labels()`, which validates and locks on every call.
    """

    __slots__ = ("metric", "name", "max_series", "_children", "_lock", "_overflow_key", "_overflow_counter")

    def __init__(self, metric: Any, name: str, label_count: int, max_series: int = DEFAULT_MAX_SERIES) -> None:
        if max_series < 1:
            raise ValueError(f"max_series for {name} must be at least 1, got {max_series}")
        self.metric = metric
        self.name = name
        self.max_series = max_series
        self._children: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._overflow_key = (OVERFLOW,) * label_count
        self._overflow_counter = CARDINALITY_OVERFLOW.labels(name)

    def child(self, key: tuple[str, ...]) -> Any:
        found = self._children.get(key)
        if found is not None:
            return found
        return self._admit(key)

    def _admit(self, key: tuple[str, ...]) -> Any:
        with self._lock:
            found = self._children.get(key)
            if found is not None:
                return found
            # The overflow series itself does not count against the cap.
            if len(self._children) - (self._overflow_key in self._children) >= self.max_series:
                self._overflow_counter.inc()
                found = self._children.get(self._overflow_key)
                if found is None:
                    found = self._children[self._overflow_key] = self.metric.labels(*self._overflow_key)
                return found
            found = self._children[key] = self.metric.labels(*key)
            return found

    @property
    def overflow_key(self) -> tuple[str, ...]:
        return self._overflow_key

    @property
    def series(self) -> int:
        return len(self._children)
