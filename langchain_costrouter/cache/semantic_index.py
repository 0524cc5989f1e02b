"""Stored semantic entries, and the exact search over the ones a process parsed itself.

A partition is a list in the backend, one JSON line per cached answer: its exact
key, the user text, the unit vector as base64 float32 (a 1,536-dimension vector
is 8 KB of text this way, against about 30 KB as JSON numbers) and, when the answer
has a TTL, when it expires (so its row leaves the index and the list with it). Reading and parsing
that list on every lookup made a lookup cost O(entries) in I/O and Python; instead
each process keeps what it parsed (`Rows`) and, on a lookup, asks the backend only
for the list's length and the values appended since. Similarity is one matrix-vector
product. Large partitions move their older rows into a `semantic_base.Base` (an
approximate index plus a file shared by the machine's processes); `Rows` then holds
only what was appended since.

Every line is checked as it is parsed: a line that is not an entry, or whose vector is
not a unit vector (empty, NaN or infinite components, any other length), is skipped
with a warning. The store is shared: a line left by a damaged write or another writer
must never count, and a vector five times too long rated five times its cosine, above
any threshold, and answered unrelated questions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from langchain_costrouter.errors import BackendUnavailableWarning

Matrix = npt.NDArray[np.float32]
RowIds = npt.NDArray[np.int64]
Signatures = npt.NDArray[np.int64]
Similarities = npt.NDArray[np.float32]
Expiries = npt.NDArray[np.float64]

UNIT_TOLERANCE = 1e-3
"""How far a stored unit vector's squared length may be from 1 (float32 rounding: ~1e-6)."""


def encode_entry(key: str, text: str, vector: list[float], expires: float | None = None) -> bytes:
    """The JSON line stored in a partition for one cached answer.

    ``expires``: when the answer expires (Unix time), None if it never does.
    """
    packed = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    fields: dict[str, object] = {"k": key, "t": text, "e": packed}
    if expires is not None:
        fields["x"] = round(expires, 3)
    return json.dumps(fields, separators=(",", ":")).encode()


def value_digest(value: bytes) -> str:
    """How a reader recognises a list value it saw before, without keeping it."""
    return hashlib.sha256(value).hexdigest()


@dataclass(frozen=True)
class Entry:
    key: str
    text: str
    vector: Matrix
    expires: float  # Unix time; infinity for an answer without a TTL (or an older line)


def decode_entry(line: bytes) -> Entry | None:
    """A stored entry, or None for a line that is not one (skipped, never fatal)."""
    try:
        entry = orjson.loads(line)
        vector = np.frombuffer(base64.b64decode(entry["e"], validate=True), dtype="<f4")
        key, text, expires = entry["k"], entry["t"], entry.get("x", math.inf)
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        return None  # orjson's error is a ValueError; a line that is no object has no get
    if not isinstance(key, str) or not isinstance(text, str) or not _unit_length(vector):
        return None
    if isinstance(expires, bool) or not isinstance(expires, int | float) or expires != expires:
        return None  # not a time (NaN included)
    return Entry(key, text, vector.astype(np.float32, copy=False), float(expires))


def _unit_length(vector: Matrix) -> bool:
    """A non-empty vector of finite components whose length is 1 (within float32's error)."""
    with np.errstate(over="ignore", invalid="ignore"):
        squared = float(np.dot(vector, vector))
    return len(vector) > 0 and abs(squared - 1.0) <= UNIT_TOLERANCE  # NaN: False


def similarities_to(matrix: Matrix, vector: Matrix) -> Similarities:
    """Each row's dot product with ``vector``, computed on the calling thread.

    Not ``matrix @ vector``: that hands the product to the BLAS thread pool, whose
    threads spin while waiting for work. On a busy machine they take the cores that a
    Redis server or the application needs next, and a 0.1 ms product was measured at
    7-30 ms; numpy's own loop stays at about 1 ms per 1,300 rows of 1,536 dimensions.
    """
    result: Similarities = np.einsum("ij,j->i", matrix, vector)
    return result


@dataclass(frozen=True)
class Group:
    """The vectors of one dimension: the rows they belong to, stacked in row order."""

    rows: RowIds
    matrix: Matrix

    def above(self, vector: Matrix, floor: float) -> tuple[Similarities, RowIds]:
        """Exact similarities at least ``floor`` and their rows."""
        similarities = similarities_to(self.matrix, vector)
        hits = np.flatnonzero(similarities >= floor)
        return similarities[hits], self.rows[hits]


@dataclass(frozen=True)
class Rows:
    """Parsed entries of a partition, oldest first.

    Attributes:
        keys, texts: per row, the exact key the entry points at and its user text.
        groups: by vector dimension, the rows' vectors (entries of another embeddings
            model are compared with their own kind only).
        positions: per row, its position in the backend's list (what a trim names).
        expires: per row, when its answer expires (Unix time, infinity for never).
    """

    keys: tuple[str, ...]
    texts: tuple[str, ...]
    groups: dict[int, Group]
    positions: RowIds
    expires: Expiries

    @classmethod
    def empty(cls) -> Rows:
        return cls((), (), {}, np.zeros(0, np.int64), np.zeros(0, np.float64))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Memory held by the vectors."""
        return sum(group.matrix.nbytes for group in self.groups.values())

    @property
    def floats(self) -> int:
        """Vector components an exact scan of these rows multiplies."""
        return sum(group.matrix.size for group in self.groups.values())

    def extended(self, lines: list[tuple[int, bytes]]) -> Rows:
        """These rows with the entries among ``lines`` (position, value) appended
        (others skipped, said)."""
        decoded = [(position, decode_entry(line)) for position, line in lines]
        new = [(position, entry) for position, entry in decoded if entry is not None]
        if len(new) < len(lines):
            warnings.warn(
                f"{len(lines) - len(new)} semantic entries could not be read (damaged, or "
                f"not written by this package) and are skipped; their answers are still "
                f"found by exact lookups.",
                BackendUnavailableWarning,
                stacklevel=4,
            )
        if not new:
            return self
        entries = [entry for _, entry in new]
        groups = dict(self.groups)
        for dimension, added in _groups(entries, len(self)).items():
            old = groups.get(dimension)
            if old is not None:  # one copy of the old rows, no Python loop over them
                added = Group(
                    np.concatenate([old.rows, added.rows]),
                    np.concatenate([old.matrix, added.matrix]),
                )
            groups[dimension] = added
        return Rows(
            self.keys + tuple(entry.key for entry in entries),
            self.texts + tuple(entry.text for entry in entries),
            groups,
            np.concatenate([self.positions, np.asarray([p for p, _ in new], np.int64)]),
            np.concatenate([self.expires, np.asarray([e.expires for e in entries], np.float64)]),
        )

    def after(self, count: int) -> Rows:
        """The rows after the first ``count`` (once those moved into a base, or expired)."""
        if count <= 0:
            return self
        groups = {}
        for dimension, group in self.groups.items():
            kept = group.rows >= count
            if kept.any():
                groups[dimension] = Group(group.rows[kept] - count, group.matrix[kept])
        return Rows(
            self.keys[count:],
            self.texts[count:],
            groups,
            self.positions[count:],
            self.expires[count:],
        )

    def from_position(self, position: int) -> Rows:
        """The rows at list positions ``position`` and after."""
        return self.after(int(np.searchsorted(self.positions, position)))


def _groups(entries: list[Entry], first_row: int) -> dict[int, Group]:
    """Entries stacked by dimension, with their rows (counted from ``first_row``)."""
    offsets_by_dimension: dict[int, list[int]] = {}
    for offset, entry in enumerate(entries):
        offsets_by_dimension.setdefault(len(entry.vector), []).append(offset)
    return {
        dimension: Group(
            np.asarray(offsets, dtype=np.int64) + first_row,
            np.vstack([entries[offset].vector for offset in offsets]),
        )
        for dimension, offsets in offsets_by_dimension.items()
    }
