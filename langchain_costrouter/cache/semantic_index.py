"""A semantic partition's stored entries, parsed once per process and searched with numpy.

A partition is a list in the backend, one JSON line per cached answer: its exact
key, the user text and the unit vector as base64 float32 (a 1,536-dimension vector
is 8 KB of text this way, against about 30 KB as JSON numbers). Reading and parsing
that list on every lookup made a lookup cost O(entries) in I/O and Python; instead
each process keeps the parsed partition and, on a lookup, asks the backend only for
the list's length and the values appended since. Similarity is one matrix-vector
product.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

Matrix = npt.NDArray[np.float32]


def encode_entry(key: str, text: str, vector: list[float]) -> bytes:
    """The JSON line stored in a partition for one cached answer."""
    packed = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return json.dumps({"k": key, "t": text, "e": packed}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Entry:
    key: str
    text: str
    vector: Matrix


def decode_entry(line: bytes) -> Entry | None:
    """A stored entry, or None for a line that is not one (skipped, never fatal)."""
    try:
        entry = orjson.loads(line)
        vector = np.frombuffer(base64.b64decode(entry["e"], validate=True), dtype="<f4")
        return Entry(str(entry["k"]), str(entry["t"]), vector.astype(np.float32))
    except (ValueError, TypeError, KeyError, binascii.Error):  # orjson's error is a ValueError
        return None


@dataclass(frozen=True)
class PartitionIndex:
    """The parsed entries of one partition, as far as this process has read it.

    Attributes:
        length: list positions read so far (the backend's `list_length` then).
        last: the raw value at position ``length - 1``; a backend whose value there
            differs was cleared or trimmed since, and is read again from the start.
        entries: every usable entry read, oldest first.
        matrices: by vector dimension, the row of each entry and the stacked vectors
            (entries of another embeddings model are compared with their own kind only).
    """

    length: int
    last: bytes
    entries: tuple[Entry, ...]
    matrices: dict[int, tuple[tuple[int, ...], Matrix]]

    @classmethod
    def empty(cls) -> PartitionIndex:
        return cls(0, b"", (), {})

    @property
    def nbytes(self) -> int:
        """Memory held by the vectors (what a process bounds its parsed partitions by)."""
        return sum(matrix.nbytes for _, matrix in self.matrices.values())

    def extended(self, lines: list[bytes], length: int) -> PartitionIndex:
        """This index with ``lines`` (the values after ``last``) added."""
        if not lines:
            return self
        new = [entry for entry in map(decode_entry, lines) if entry is not None]
        first_row = len(self.entries)
        matrices = dict(self.matrices)
        for dimension, (rows, added) in _matrices(new, first_row).items():
            if dimension in matrices:  # one copy of the old rows, no Python loop over them
                old_rows, old = matrices[dimension]
                rows, added = old_rows + rows, np.concatenate([old, added])
            matrices[dimension] = (rows, added)
        return PartitionIndex(length, lines[-1], self.entries + tuple(new), matrices)

    def ranked(self, vector: list[float], floor: float) -> Iterator[tuple[float, Entry]]:
        """Entries at least ``floor`` similar to the unit ``vector``, most similar first.

        Lazy: the caller stops at the first entry its guard accepts.
        """
        group = self.matrices.get(len(vector))
        if group is None:
            return
        rows, matrix = group
        similarities = matrix @ np.asarray(vector, dtype=np.float32)
        above = np.flatnonzero(similarities >= floor)
        for i in above[np.argsort(-similarities[above], kind="stable")]:
            yield float(similarities[i]), self.entries[rows[i]]


def _matrices(entries: list[Entry], first_row: int) -> dict[int, tuple[tuple[int, ...], Matrix]]:
    """Entries stacked by dimension, with their rows (counted from ``first_row``)."""
    rows_by_dimension: dict[int, list[int]] = {}
    for offset, entry in enumerate(entries):
        rows_by_dimension.setdefault(len(entry.vector), []).append(offset)
    return {
        dimension: (
            tuple(first_row + offset for offset in offsets),
            np.vstack([entries[offset].vector for offset in offsets]),
        )
        for dimension, offsets in rows_by_dimension.items()
    }
