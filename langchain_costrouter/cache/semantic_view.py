"""One process's view of a partition: a base (maybe none) and the rows appended since.

`candidates` is the whole search: the graph proposes base rows, the exact scan covers
the rows since the base, every candidate is ranked by its exact similarity, and the
caller's ``accept`` (the near-miss guard) picks the first it allows, and the next
ones only when asked (the nearest one's answer may be gone). When every
proposed row was above the floor and rejected, rows further away may still qualify,
so the graph is asked for four times as many, up to `MAX_PROPOSED`, and past that the
base is scanned exactly: a crowd of near misses (templated prompts that differ only
in a number) costs time, never a hit the exact scan would have found.

Rows whose answers expired are never candidates. The leading ones (oldest first)
are counted as ``dead`` (`pruned`, a bounded look per call): they are skipped, the
backend's list is trimmed up to the first live row (`trim_point`), the tail drops
them once they are half of it, and the next merge leaves them out of the base, which
is rebuilt once half of it is dead (`compactable`). A partition under a TTL thus
keeps about its live rows, not every row it ever had.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from langchain_costrouter.cache.semantic_base import EXACT_SCAN_FLOATS, Base
from langchain_costrouter.cache.semantic_index import (
    Expiries,
    RowIds,
    Rows,
    Similarities,
    value_digest,
)

FIRST_PROPOSED = 16
MAX_PROPOSED = 1024
PRUNE_WINDOW = 8192
"""Rows `PartitionView.pruned` looks at per call (about 10 µs): past them, the next call."""

_LINEAGES = itertools.count()
_EMPTY = (np.zeros(0, np.float32), np.zeros(0, np.int64))


@dataclass(frozen=True)
class Candidate:
    similarity: float
    key: str
    text: str


@dataclass(frozen=True)
class PartitionView:
    """Positions ``[0, length)`` of a partition as one process knows them.

    Attributes:
        last: digest of the value at ``length - 1``; a backend whose value there
            differs was cleared or trimmed since, and is read again from the start.
        lineage: views extended from one another share it; a view read from scratch
            gets a new one (a merge started on an older lineage is not installed).
        head: the first position the backend kept when last asked (`list_bounds`).
        dead: leading rows (base rows first, then the tail's) whose answers expired.
    """

    length: int
    last: str
    base: Base | None
    tail: Rows
    lineage: int
    head: int = 0
    dead: int = 0

    @classmethod
    def read(cls, lines: list[tuple[int, bytes]], length: int) -> PartitionView:
        """A view parsed from the whole list (position, value)."""
        last = value_digest(lines[-1][1]) if lines else ""
        head = lines[0][0] if lines else length
        tail = Rows.empty().extended(lines)
        return cls(length, last, None, tail, next(_LINEAGES), head)

    @classmethod
    def of_base(cls, base: Base, lines: list[tuple[int, bytes]]) -> PartitionView:
        """``base`` followed by ``lines`` (the values after its last one)."""
        view = cls(base.length, base.last, base, Rows.empty(), next(_LINEAGES))
        return view.extended(lines, lines[-1][0] + 1 if lines else base.length)

    @property
    def entries(self) -> int:
        """Rows searched: those not known to be dead."""
        return self.base_rows + len(self.tail) - self.dead

    @property
    def base_length(self) -> int:
        """List positions the base covers."""
        return 0 if self.base is None else self.base.length

    @property
    def base_rows(self) -> int:
        return 0 if self.base is None else len(self.base)

    @property
    def nbytes(self) -> int:
        """Private memory held (mapped files excluded)."""
        return self.tail.nbytes + (0 if self.base is None else self.base.nbytes)

    def tail_full(self) -> bool:
        """Whether the rows since the base are too many to scan exactly on every lookup."""
        return self.tail.floats > EXACT_SCAN_FLOATS

    def compactable(self) -> bool:
        """Whether half the base or more is dead: a merge then rebuilds it without them."""
        dead = min(self.dead, self.base_rows)
        return dead > 0 and 2 * dead >= self.base_rows

    def extended(self, lines: list[tuple[int, bytes]], length: int) -> PartitionView:
        """This view with ``lines`` (the values after ``last``) added."""
        if not lines:
            return self
        tail = self.tail.extended(lines)
        return replace(self, length=length, last=value_digest(lines[-1][1]), tail=tail)

    def rebased(self, base: Base) -> PartitionView:
        """This view with its tail rows up to ``base.length`` moved into ``base``."""
        tail = self.tail.from_position(base.length)
        return replace(self, base=base, tail=tail, dead=0)

    def at_head(self, head: int) -> PartitionView:
        """This view, knowing the backend keeps positions from ``head`` on."""
        return self if head == self.head else replace(self, head=head)

    def pruned(self, now: float) -> PartitionView:
        """This view with the leading rows expired at ``now`` counted dead (at most
        `PRUNE_WINDOW` more per call); the tail drops its dead rows once they are half
        of it, the base keeps them (mapped, immutable) until a merge leaves them out."""
        dead = self.dead
        if dead < self.base_rows and self.base is not None:
            dead += _leading_expired(self.base.expires[dead : dead + PRUNE_WINDOW], now)
        tail, in_tail = self.tail, dead - self.base_rows
        if in_tail >= 0:
            in_tail += _leading_expired(tail.expires[in_tail : in_tail + PRUNE_WINDOW], now)
            dead = self.base_rows + in_tail
            if in_tail and 2 * in_tail >= len(tail):
                tail, dead = tail.after(in_tail), self.base_rows
        if dead == self.dead and tail is self.tail:
            return self
        return replace(self, tail=tail, dead=dead)

    def trim_due(self, batch: int) -> int | None:
        """The position to trim the backend's list to, when the expired values at its
        head are ``batch`` or more, or as many as the values after them; else None."""
        point = self.trim_point()
        expired = point - self.head
        if expired <= 0 or (expired < batch and expired < self.length - point):
            return None
        return point

    def trim_point(self) -> int:
        """The list position of the first row not known dead (the length if none): the
        values before it are expired entries, or lines that were never entries."""
        if self.dead < self.base_rows and self.base is not None:
            return int(self.base.positions[self.dead])
        in_tail = self.dead - self.base_rows
        return int(self.tail.positions[in_tail]) if in_tail < len(self.tail) else self.length

    def best(
        self,
        vector: list[float],
        floor: float,
        accept: Callable[[str], bool],
        signature: int | None = None,
    ) -> Candidate | None:
        """The most similar row at least ``floor`` similar whose text ``accept`` allows.

        ``signature``: when ``accept`` can only allow texts of this `signature_hash`.
        """
        return next(self.candidates(vector, floor, accept, signature), None)

    def candidates(
        self,
        vector: list[float],
        floor: float,
        accept: Callable[[str], bool],
        signature: int | None = None,
    ) -> Iterator[Candidate]:
        """The rows `best` finds, most similar first, each found when it is asked for.

        The caller takes the next one only when the previous one's answer is gone
        (expired, evicted): ``accept`` runs on the rows up to the one taken, so a
        crowd of near misses behind a hit costs nothing. Rows after the first are
        those the search ranked anyway: the graph is asked for more only while none
        was found. Rows whose answers expired are passed over.
        """
        now = time.time()
        query = np.asarray(vector, dtype=np.float32)
        tail = self.tail.groups.get(len(query))
        tail_similarities, tail_rows = _EMPTY if tail is None else tail.above(query, floor)
        group = None if self.base is None else self.base.groups.get(len(query))
        tried: set[int] = set()
        proposed: int | None = FIRST_PROPOSED
        while True:
            similarities, rows, more = (*_EMPTY, False)
            if group is not None:
                similarities, rows, more = group.ranked(query, floor, proposed, signature)
            similarities = np.concatenate([similarities, tail_similarities])
            rows = np.concatenate([rows, tail_rows + self.base_rows])
            found = False
            for candidate in self._accepted(similarities, rows, tried, accept, now):
                found = True
                yield candidate
            if found or not more or proposed is None:
                return
            proposed = proposed * 4 if proposed * 4 <= MAX_PROPOSED else None

    def _accepted(
        self,
        similarities: Similarities,
        rows: RowIds,
        tried: set[int],
        accept: Callable[[str], bool],
        now: float,
    ) -> Iterator[Candidate]:
        """The live rows, most similar first, that ``accept`` allows."""
        for i in np.argsort(-similarities, kind="stable"):
            row = int(rows[i])
            if row in tried:
                continue
            tried.add(row)
            if row < self.dead or self._expires(row) <= now:
                continue
            key, text = self._row(row)
            if accept(text):
                yield Candidate(float(similarities[i]), key, text)

    def _expires(self, row: int) -> float:
        if row < self.base_rows and self.base is not None:
            return float(self.base.expires[row])
        return float(self.tail.expires[row - self.base_rows])

    def _row(self, row: int) -> tuple[str, str]:
        if row < self.base_rows and self.base is not None:
            return self.base.texts.row(row)
        offset = row - self.base_rows
        return self.tail.keys[offset], self.tail.texts[offset]


def _leading_expired(expires: Expiries, now: float) -> int:
    """How many of the first ``expires`` are at or before ``now``, up to the first later."""
    live = np.flatnonzero(expires > now)
    return int(live[0]) if len(live) else len(expires)
