"""A/B experiments: sticky variant assignment and per-variant exposure and conversion counters.

Assignment hashes (experiment, subject) so it is sticky across requests, processes and restarts
without storing anything; the counters feed the dashboards' conversion-per-variant panels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from prometheus_client import Counter as _PromCounter

from bongsu import conventions
from instrumentation.guard import LabelGuard

EXPOSURES = _PromCounter(conventions.EXPERIMENT_EXPOSURES,
                         "Times a subject was shown a variant of an experiment.", ["experiment", "variant"])
CONVERSIONS = _PromCounter(conventions.EXPERIMENT_CONVERSIONS,
                           "Conversions of subjects, attributed to the variant they were assigned.",
                           ["experiment", "variant"])
# Experiments are declared in code, so the label sets are bounded by the code; the cap only guards
# against experiments created per request by mistake.
_EXPOSURE_GUARD = LabelGuard(EXPOSURES, conventions.EXPERIMENT_EXPOSURES, 2)
_CONVERSION_GUARD = LabelGuard(CONVERSIONS, conventions.EXPERIMENT_CONVERSIONS, 2)


class Experiment:
    """`Experiment("checkout-button", ["control", "one-click"], weights=[90, 10])`."""

    def __init__(self, name: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> None:
        if not name:
            raise ValueError("an experiment needs a non-empty name")
        if len(variants) < 2 or len(set(variants)) != len(variants):
            raise ValueError(f"experiment {name!r} needs at least two distinct variants, got {list(variants)}")
        weights = list(weights) if weights is not None else [1.0] * len(variants)
        if len(weights) != len(variants) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"experiment {name!r}: weights {weights} must be one non-negative number per variant "
                             "with a positive sum")
        self.name = name
        self.variants = tuple(variants)
        total = float(sum(weights))
        # Cumulative upper bounds on [0, 1): the subject's hash point falls into exactly one.
        bounds, running = [], 0.0
        for weight in weights:
            running += weight / total
            bounds.append(running)
        bounds[-1] = 1.0
        self._bounds = tuple(bounds)
        self._exposures = [_EXPOSURE_GUARD.child((name, v)) for v in self.variants]
        self._conversions = [_CONVERSION_GUARD.child((name, v)) for v in self.variants]

    def _index(self, subject_id: str) -> int:
        digest = hashlib.blake2b(f"{self.name}\x00{subject_id}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") / 2**64
        for index, bound in enumerate(self._bounds):
            if point < bound:
                return index
        return len(self._bounds) - 1

    def assignment(self, subject_id: str) -> str:
        """The subject's variant, without counting an exposure."""
        return self.variants[self._index(str(subject_id))]

    def variant_for(self, subject_id: str) -> str:
        """The subject's sticky variant; counts one exposure for it."""
        index = self._index(str(subject_id))
        self._exposures[index].inc()
        return self.variants[index]

    def convert(self, subject_id: str) -> None:
        """Counts one conversion for the subject's variant."""
        self._conversions[self._index(str(subject_id))].inc()
