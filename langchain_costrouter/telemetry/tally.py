"""Running sums by attribute set, read by an asynchronous instrument when a reader collects.

A synchronous counter's ``add`` costs the SDK several microseconds per call: it
validates the attributes, copies them and hashes them into an aggregation key, every
time. A routed call adds to up to eight sums (cost, baseline, savings by lever, calls,
cache hits or misses, escalations), so the counters alone cost more than the call's
spans. A `Tally` keeps each sum in a dict under a tuple of attribute values (one
dict update per add) and hands the totals to an observable counter's callback at
collection time, as the metrics API intends for values the instrumentation already
aggregates. Readers see the same metric: a cumulative sum per attribute set.

Like the SDK's own storage, a tally keeps at most ``CARDINALITY_LIMIT`` attribute
sets; later new sets add to one ``otel.metric.overflow`` point.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation

CARDINALITY_LIMIT = 2000
"""The SDK's default limit of attribute sets per instrument."""
OVERFLOW: Mapping[str, Any] = {"otel.metric.overflow": True}

Key = tuple[Any, ...]


class Tally:
    """Sums keyed by the values of fixed attribute names, observed on collection."""

    __slots__ = ("_attributes", "_lock", "_sums", "names")

    def __init__(self, *names: str) -> None:
        self.names = names
        """The attribute names, in the order of every key's values."""
        self._sums: dict[Key, float] = {}
        self._attributes: dict[Key, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, value: float, key: Key) -> None:
        """Add ``value`` to the sum of the attribute set ``key`` (values of `names`)."""
        with self._lock:
            sums = self._sums
            if key in sums:
                sums[key] += value
            elif len(sums) < CARDINALITY_LIMIT:
                sums[key] = value
            else:
                sums[()] = sums.get((), 0) + value

    def observe(self, options: CallbackOptions | None = None) -> Iterable[Observation]:
        """Every sum so far (the asynchronous instrument's callback)."""
        with self._lock:
            sums = list(self._sums.items())
        return [Observation(total, self._attributes_of(key)) for key, total in sums]

    def _attributes_of(self, key: Key) -> Mapping[str, Any]:
        attributes = self._attributes.get(key)
        if attributes is None:
            attributes = dict(zip(self.names, key, strict=True)) if key else OVERFLOW
            self._attributes[key] = attributes
        return attributes
