"""Typed business metrics: label names declared up front, optional allowed values, a cardinality cap.

A value outside the allowed set is recorded as `OTHER` rather than raising, because a business
metric must never fail the request that records it; the fold is visible in the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loguru import logger
from prometheus_client import Counter as _PromCounter
from prometheus_client import Histogram as _PromHistogram

from instrumentation.guard import DEFAULT_MAX_SERIES, LabelGuard
from instrumentation.selfmetrics import dropped

OTHER = "__other__"


class _Labelled:
    """Shared label handling for the typed helpers."""

    def __init__(self, name: str, labels: Sequence[str], allowed: Mapping[str, Iterable[str]] | None,
                 max_series: int) -> None:
        self.name = name
        self.label_names = tuple(labels)
        unknown = set(allowed or {}) - set(self.label_names)
        if unknown:
            raise ValueError(f"metric {name}: allowed values given for undeclared labels {sorted(unknown)}; "
                             f"declared labels are {list(self.label_names)}")
        self._allowed = tuple(frozenset(str(v) for v in (allowed or {}).get(n, ())) or None
                              for n in self.label_names)
        self._checks_values = any(self._allowed)
        self._max_series = max_series
        self._guard: LabelGuard
        # (label, value) pairs exactly as the caller passed them -> child: the hot path is one tuple
        # and one dict lookup. Bounded, so that a stream of distinct disallowed values cannot grow it.
        self._fast: dict[tuple[tuple[str, object], ...], Any] = {}
        self._fast_cap = 4 * max_series

    def _child(self, labels: dict[str, object]) -> Any:
        try:
            pairs = tuple(labels.items())
            found = self._fast.get(pairs)
        except TypeError:  # an unhashable label value: take the slow path, which str()s it
            pairs, found = None, None
        if found is not None:
            return found
        key = self._key(labels)
        if key is None:
            return None
        found = self._guard.child(key)
        if pairs is not None and len(self._fast) < self._fast_cap and key != self._guard.overflow_key:
            self._fast[pairs] = found
        return found

    def _key(self, values: Mapping[str, object]) -> tuple[str, ...] | None:
        try:
            key = tuple(str(values[n]) for n in self.label_names)
        except KeyError as missing:
            dropped("metrics", "missing_label")
            _warn_once(f"metric {self.name}: label {missing} missing; declared labels are {list(self.label_names)}")
            return None
        if len(values) != len(self.label_names):
            dropped("metrics", "unknown_label")
            _warn_once(f"metric {self.name}: unknown labels {sorted(set(values) - set(self.label_names))}")
            return None
        if self._checks_values:
            key = tuple(v if a is None or v in a else OTHER for v, a in zip(key, self._allowed))
        return key


class Counter(_Labelled):
    """A counter with declared labels: `orders.inc(result="ok")`."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str] = (),
                 allowed: Mapping[str, Iterable[str]] | None = None, max_series: int = DEFAULT_MAX_SERIES) -> None:
        super().__init__(name, labels, allowed, max_series)
        self.metric = _PromCounter(name, documentation, self.label_names)
        self._guard = LabelGuard(self.metric, name, len(self.label_names), max_series)
        self._plain = self.metric if not self.label_names else None

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if self._plain is not None and not labels:
            self._plain.inc(amount)
            return
        child = self._child(labels)
        if child is not None:
            child.inc(amount)


class Histogram(_Labelled):
    """A histogram with declared labels and buckets: `latency.observe(0.12, step="charge")`."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str] = (),
                 buckets: Sequence[float] = _PromHistogram.DEFAULT_BUCKETS,
                 allowed: Mapping[str, Iterable[str]] | None = None, max_series: int = DEFAULT_MAX_SERIES) -> None:
        super().__init__(name, labels, allowed, max_series)
        self.metric = _PromHistogram(name, documentation, self.label_names, buckets=tuple(buckets))
        self._guard = LabelGuard(self.metric, name, len(self.label_names), max_series)
        self._plain = self.metric if not self.label_names else None

    def observe(self, value: float, **labels: object) -> None:
        if self._plain is not None and not labels:
            self._plain.observe(value)
            return
        child = self._child(labels)
        if child is not None:
            child.observe(value)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Misused labels are a programming error: say so once in the logs, never raise."""
    if message in _warned:
        return
    _warned.add(message)
    logger.warning(message)
