"""One process's view of a partition: a base (maybe none) and the rows appended since.

`candidates` is the whole search: the graph proposes base rows, the exact scan covers
the rows since the base, every candidate is ranked by its exact similarity, and the
caller's ``accept`` (the near-miss guard) picks the first few it allows (the caller
tries them in order, as the nearest one's answer may be gone). When every
proposed row was above the floor and rejected, rows further away may still qualify,
so the graph is asked for four times as many, up to `MAX_PROPOSED`, and past that the
base is scanned exactly: a crowd of near misses (templated prompts that differ only
in a number) costs time, never a hit the exact scan would have found.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from langchain_costrouter.cache.semantic_base import EXACT_SCAN_FLOATS, Base
from langchain_costrouter.cache.semantic_index import RowIds, Rows, Similarities, value_digest

FIRST_PROPOSED = 16
MAX_PROPOSED = 1024

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
    """

    length: int
    last: str
    base: Base | None
    tail: Rows
    lineage: int

    @classmethod
    def read(cls, lines: list[bytes], length: int) -> PartitionView:
        """A view parsed from the whole list."""
        last = value_digest(lines[-1]) if lines else ""
        return cls(length, last, None, Rows.empty().extended(lines), next(_LINEAGES))

    @classmethod
    def of_base(cls, base: Base, lines: list[bytes]) -> PartitionView:
        """``base`` followed by ``lines`` (the values after its last one)."""
        view = cls(base.length, base.last, base, Rows.empty(), next(_LINEAGES))
        return view.extended(lines, base.length + len(lines))

    @property
    def entries(self) -> int:
        return self.base_rows + len(self.tail)

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

    def extended(self, lines: list[bytes], length: int) -> PartitionView:
        """This view with ``lines`` (the values after ``last``) added."""
        if not lines:
            return self
        tail = self.tail.extended(lines)
        return PartitionView(length, value_digest(lines[-1]), self.base, tail, self.lineage)

    def rebased(self, base: Base, merged_rows: int) -> PartitionView:
        """This view with its first ``merged_rows`` tail rows moved into ``base``."""
        return PartitionView(
            self.length, self.last, base, self.tail.after(merged_rows), self.lineage
        )

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
        found = self.candidates(vector, floor, accept, signature, 1)
        return found[0] if found else None

    def candidates(
        self,
        vector: list[float],
        floor: float,
        accept: Callable[[str], bool],
        signature: int | None = None,
        limit: int = 1,
    ) -> list[Candidate]:
        """Up to ``limit`` rows as `best` finds them, most similar first.

        The caller tries them in order: the nearest one's answer may be gone (expired,
        evicted) while the next one's still answers. Rows beyond the first are those
        the search ranked anyway: the graph is asked for more only while none is found.
        """
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
            found = self._accepted(similarities, rows, tried, accept, limit)
            if found or not more or proposed is None:
                return found
            proposed = proposed * 4 if proposed * 4 <= MAX_PROPOSED else None

    def _accepted(
        self,
        similarities: Similarities,
        rows: RowIds,
        tried: set[int],
        accept: Callable[[str], bool],
        limit: int,
    ) -> list[Candidate]:
        """The first ``limit`` rows, most similar first, that ``accept`` allows."""
        found: list[Candidate] = []
        for i in np.argsort(-similarities, kind="stable"):
            row = int(rows[i])
            if row in tried:
                continue
            tried.add(row)
            key, text = self._row(row)
            if accept(text):
                found.append(Candidate(float(similarities[i]), key, text))
                if len(found) == limit:
                    break
        return found

    def _row(self, row: int) -> tuple[str, str]:
        if row < self.base_rows and self.base is not None:
            return self.base.texts.row(row)
        offset = row - self.base_rows
        return self.tail.keys[offset], self.tail.texts[offset]
