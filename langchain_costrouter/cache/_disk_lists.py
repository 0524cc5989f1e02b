"""`DiskBackend`'s lists: the semantic layer's vectors, one row per value, by position.

A list is a row per value (its key and ``#position``), a row counting the values ever
appended (``#length``) and one for the first position still kept (``#start``), so
appending and reading what is new cost one value's I/O, not the whole list's, and a
position always names the same value once old values are trimmed. Appends and trims are
transactions on the caller's thread, after the entries written behind are committed.
Also here: `STORE_ERRORS` and the store access both halves of the backend use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diskcache

from langchain_costrouter._fork import ForkGate
from langchain_costrouter.cache.backends import CacheBackendError
from langchain_costrouter.cache.disk_store import DirectoryStore
from langchain_costrouter.cache.write_behind import WriteBehind

TRIM_BATCH = 500
"""List values one `DiskLists.trim_list` call deletes at most (about 10 ms of SQLite)."""
STORE_ERRORS = (sqlite3.Error, OSError, diskcache.Timeout)
"""What a failing directory or database raises: a miss and a warning, never a failed call."""


class DiskLists:
    """The list calls of `disk.DiskBackend`, and its access to the store; not used alone."""

    directory: Path
    _store: DirectoryStore
    _behind: WriteBehind
    _fork_gate: ForkGate

    def append(self, key: str, value: bytes) -> None:
        """Store the value at the list's next position, atomically across processes.

        One row per value (and one for the count), so appending and reading what is
        new cost one value's I/O, not the whole list's. Eviction may remove a value;
        readers skip the gap. Entries written before are committed first: a semantic
        entry other processes can read never points at an answer they cannot.
        """
        self._behind.flush()
        with self._errors() as cache, self._fork_gate.entered(), cache.transact():
            length = _count(cache.get(_length_key(key)))
            cache.set(_item_key(key, length), value)
            cache.set(_length_key(key), str(length + 1))

    def list_length(self, key: str) -> int:
        """Values ever appended under ``key``."""
        with self._errors() as cache:
            return _count(cache.get(_length_key(key)))

    def list_bounds(self, key: str) -> tuple[int, int]:
        """The first kept position (values before it were trimmed) and the length."""
        with self._errors() as cache:
            return _count(cache.get(_start_key(key))), _count(cache.get(_length_key(key)))

    def read_list(self, key: str, start: int = 0) -> list[bytes]:
        """The values at positions ``start`` and after (evicted ones skipped)."""
        return [value for _, value in self.read_positioned(key, start)]

    def read_positioned(self, key: str, start: int = 0) -> list[tuple[int, bytes]]:
        """`read_list` with each value's position; trimmed positions are not looked at."""
        with self._errors() as cache:
            first = _count(cache.get(_start_key(key)))
            length = _count(cache.get(_length_key(key)))
            found = [(i, cache.get(_item_key(key, i))) for i in range(max(start, first), length)]
        return [(i, v.encode() if isinstance(v, str) else v) for i, v in found if v is not None]

    def trim_list(self, key: str, start: int) -> None:
        """Delete the values before position ``start``, at most `TRIM_BATCH` per call
        (one transaction: a lookup waiting for the database waits milliseconds)."""
        with self._errors() as cache, self._fork_gate.entered(), cache.transact():
            first = _count(cache.get(_start_key(key)))
            stop = min(start, first + TRIM_BATCH, _count(cache.get(_length_key(key))))
            if stop <= first:
                return
            for position in range(first, stop):
                cache.delete(_item_key(key, position))
            cache.set(_start_key(key), str(stop))

    @contextmanager
    def _errors(self) -> Iterator[diskcache.Cache]:
        """Yield the open cache; turn store failures into `CacheBackendError`."""
        try:
            yield self._open()
        except STORE_ERRORS as error:
            raise self._failure(error) from error

    def _failure(self, error: BaseException) -> CacheBackendError:
        return CacheBackendError(f"diskcache at {self.directory} failed: {error}")

    def _open(self) -> diskcache.Cache:
        return self._store.cache()


def _length_key(key: str) -> str:
    return f"{key}#length"


def _start_key(key: str) -> str:
    """The first position still kept (absent: 0)."""
    return f"{key}#start"


def _item_key(key: str, position: int) -> str:
    return f"{key}#{position}"


def _count(stored: Any) -> int:
    """A stored list length (a str row; absent means empty)."""
    return int(stored) if stored is not None else 0
