"""The older rows of a large partition: exact vectors, their texts and a graph index.

A partition grows by appends. Once the rows a process parsed itself (`Rows`) would
make an exact scan slow, they are merged into a `Base`: per dimension the exact
float32 vectors, the rows' keys and texts packed as JSON, and, where the ``[ann]``
extra is installed and the group is large, an `AnnGraph` that proposes candidates.
Every candidate is re-ranked with its exact vector, so a lookup ranks what it serves
exactly as the exact scan would; the graph only decides which rows are looked at.

A `Base` is immutable: merging builds a new one (`merge`) in the background while
lookups go on with the old one. A merge leaves out the leading rows whose answers
expired, so a partition under a TTL shrinks back (their graph is then built anew).
It lives in memory or, written by `semantic_snapshot`, in a file that every process
of the machine maps instead of parsing the partition again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from langchain_costrouter.cache.semantic_ann import AnnGraph, ann_available
from langchain_costrouter.cache.semantic_guard import signature_hash
from langchain_costrouter.cache.semantic_index import (
    UNIT_TOLERANCE,
    Expiries,
    Group,
    Matrix,
    RowIds,
    Rows,
    Signatures,
    Similarities,
    similarities_to,
)

# An exact scan of this many vector components (1,300 rows of 1,536 dimensions) takes
# 0.25 ms on an idle core, over 1 ms on a busy machine: the most rows a partition keeps
# outside its base, and the fewest a graph is built for.
EXACT_SCAN_FLOATS = 2_000_000


def graph_worthwhile(rows: int, dimensions: int) -> bool:
    """Whether a group this large searches faster with a graph than exactly."""
    return rows * dimensions > EXACT_SCAN_FLOATS and ann_available()


@dataclass(frozen=True)
class PackedTexts:
    """Keys and texts as one JSON array per row in a single blob: nothing parsed upfront."""

    offsets: RowIds  # row i is blob[offsets[i]:offsets[i + 1]]
    blob: bytes | memoryview

    @classmethod
    def pack(cls, keys: tuple[str, ...], texts: tuple[str, ...]) -> PackedTexts:
        lines = [orjson.dumps([key, text]) for key, text in zip(keys, texts, strict=True)]
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum([len(line) for line in lines], out=offsets[1:])
        return cls(offsets, b"".join(lines))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, row: int) -> tuple[str, str]:
        """The key and text of ``row``."""
        key, text = orjson.loads(self.blob[self.offsets[row] : self.offsets[row + 1]])
        return str(key), str(text)

    def plus(self, other: PackedTexts) -> PackedTexts:
        """These rows followed by ``other``'s."""
        shifted = other.offsets[1:] + self.offsets[-1]
        return PackedTexts(np.concatenate([self.offsets, shifted]), bytes(self.blob) + other.blob)

    def after(self, count: int) -> PackedTexts:
        """The rows after the first ``count``."""
        if count <= 0:
            return self
        start = int(self.offsets[count])
        return PackedTexts(self.offsets[count:] - start, bytes(self.blob[start:]))


@dataclass(frozen=True)
class BaseGroup:
    """One dimension's vectors in a base: rows, exact values, signatures, optional graph."""

    rows: RowIds
    matrix: Matrix
    signatures: Signatures
    graph: AnnGraph | None

    def ranked(
        self, vector: Matrix, floor: float, count: int | None, signature: int | None
    ) -> tuple[Similarities, RowIds, bool]:
        """Exact similarities at least ``floor`` among the graph's ``count`` nearest.

        Returns the similarities, their rows, and whether rows beyond ``count`` may
        still reach ``floor`` (the caller asks again with a larger count). Without a
        graph, or with ``count`` None, every row is scanned and nothing is left over.
        With a ``signature``, only rows of that signature can be accepted: when they
        are few they are scanned exactly and nothing else is looked at.
        """
        if signature is not None:
            same = np.flatnonzero(self.signatures == signature)
            if len(same) * self.matrix.shape[1] <= EXACT_SCAN_FLOATS:
                return (
                    *self._sound(same, similarities_to(self.matrix[same], vector), floor),
                    False,
                )
        if self.graph is None or count is None or count >= len(self.rows):
            similarities = similarities_to(self.matrix, vector)
            return (*self._sound(np.arange(len(self.rows)), similarities, floor), False)
        labels = self.graph.search(vector, count)
        similarities = similarities_to(self.matrix[labels], vector)
        more = len(labels) == count and bool(similarities.min() >= floor)
        return (*self._sound(labels, similarities, floor), more)

    def _sound(
        self, positions: RowIds, similarities: Similarities, floor: float
    ) -> tuple[Similarities, RowIds]:
        """The similarities at least ``floor`` whose vectors are of unit length, and
        their rows. A mapped file's vectors are not hashed (`semantic_snapshot`): a
        damaged one is left out here, where its similarity would be meaningless."""
        kept = np.flatnonzero(similarities >= floor)
        vectors = self.matrix[positions[kept]]
        lengths = np.einsum("ij,ij->i", vectors, vectors)
        kept = kept[np.abs(lengths - 1.0) <= UNIT_TOLERANCE]  # NaN is never kept
        return similarities[kept], self.rows[positions[kept]]


@dataclass(frozen=True)
class Base:
    """Rows ``[0, length)`` of a partition, searchable without parsing them.

    Attributes:
        length: list positions covered; ``last`` is the digest of the value at
            ``length - 1``, which a reader checks against the backend before use.
        positions, expires: per row, its list position and when its answer expires.
        mapping: the file map the arrays and graphs read from (kept alive with them).
    """

    length: int
    last: str
    texts: PackedTexts
    groups: dict[int, BaseGroup]
    positions: RowIds
    expires: Expiries
    mapping: object = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def nbytes(self) -> int:
        """Private memory the vectors hold (none when they are mapped from a file)."""
        if self.mapping is not None:
            return 0
        return sum(group.matrix.nbytes for group in self.groups.values())


@dataclass(frozen=True)
class MergedGroup:
    """A group of a base being merged: its rows, its vectors in pieces, its graph."""

    rows: RowIds
    pieces: tuple[Matrix, ...]
    signatures: Signatures
    graph: AnnGraph | None


@dataclass(frozen=True)
class Merged:
    """A new base before it is stored: written piece by piece, or stacked in memory."""

    length: int
    last: str
    texts: PackedTexts
    groups: dict[int, MergedGroup]
    positions: RowIds
    expires: Expiries

    def in_memory(self) -> Base:
        """The base with each group's pieces stacked into one matrix."""
        groups = {
            dimension: BaseGroup(
                group.rows, np.concatenate(group.pieces), group.signatures, group.graph
            )
            for dimension, group in self.groups.items()
        }
        return Base(self.length, self.last, self.texts, groups, self.positions, self.expires)


def merge(base: Base | None, tail: Rows, length: int, last: str, dead: int = 0) -> Merged:
    """``base`` (None: nothing yet) followed by ``tail``, covering positions up to ``length``,
    without the first ``dead`` rows (their answers expired).

    The graph of a group is copied and extended, or built once the group is large
    enough (anew when rows left it); this is the slow part (about a millisecond per
    row), so it runs in the background.
    """
    base_dead = 0 if base is None else min(dead, len(base))
    tail = tail.after(dead - base_dead)
    old_groups = {} if base is None else _alive_groups(base, base_dead)
    offset = 0 if base is None else len(base) - base_dead
    groups = {}
    for dimension in sorted(set(old_groups) | set(tail.groups)):
        old = old_groups.get(dimension)
        new = tail.groups.get(dimension)
        pieces = tuple(part.matrix for part in (old, new) if part is not None)
        old_signatures = np.zeros(0, np.int64) if old is None else old.signatures
        signatures = np.concatenate([old_signatures, _signatures(tail, new)])
        row_parts = [] if old is None else [old.rows]
        row_parts += [] if new is None else [new.rows + offset]
        rows = np.concatenate(row_parts)
        graph = _grown_graph(old, new, len(rows), dimension)
        groups[dimension] = MergedGroup(rows, pieces, signatures, graph)
    packed = PackedTexts.pack(tail.keys, tail.texts)
    texts = packed if base is None else base.texts.after(base_dead).plus(packed)
    positions, expires = tail.positions, tail.expires
    if base is not None:
        positions = np.concatenate([base.positions[base_dead:], positions])
        expires = np.concatenate([base.expires[base_dead:], expires])
    return Merged(length, last, texts, groups, positions, expires)


def _alive_groups(base: Base, dead: int) -> dict[int, BaseGroup]:
    """The base's groups without its first ``dead`` rows (rows renumbered from 0); a
    group that lost rows loses its graph too (its labels are positions in the group)."""
    if dead == 0:
        return base.groups
    groups = {}
    for dimension, group in base.groups.items():
        kept = group.rows >= dead
        if kept.any():
            groups[dimension] = BaseGroup(
                group.rows[kept] - dead,
                group.matrix[kept],
                group.signatures[kept],
                group.graph if kept.all() else None,
            )
    return groups


def _signatures(tail: Rows, group: Group | None) -> Signatures:
    """The guard signatures of a tail group's texts (computed here, off the lookup path)."""
    rows = [] if group is None else group.rows.tolist()
    return np.asarray([signature_hash(tail.texts[row]) for row in rows], dtype=np.int64)


def _grown_graph(
    old: BaseGroup | None, new: Group | None, rows: int, dimension: int
) -> AnnGraph | None:
    """The old group's graph with the new vectors added, a new graph, or None if small."""
    if old is not None and old.graph is not None:
        graph = old.graph.copy()
    elif graph_worthwhile(rows, dimension):
        graph = AnnGraph.build(dimension)
        if old is not None:
            graph.add(old.matrix)
    else:
        return None
    if new is not None:
        graph.add(new.matrix)
    return graph
