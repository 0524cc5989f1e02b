"""Bounded in-process LRU backend: the fastest store, private to one process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from langchain_costrouter.cache.backends import LocalBackend


class MemoryBackend(LocalBackend):
    """An LRU of at most ``max_entries`` answers, with per-entry expiry.

    Values are the encoded JSON bytes, not message objects: every hit decodes a
    fresh message, so a caller mutating its answer can never corrupt the cache.
    Thread-safe; one lock guards the dict because `OrderedDict` reordering is not
    atomic.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        """Create an empty cache holding at most ``max_entries`` answers."""
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._lists: dict[str, list[bytes]] = {}
        self._dropped: dict[str, int] = {}  # per list, how many of its oldest values went
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """Return the value and mark it recently used; expired entries are dropped."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires_at = entry
            if expires_at is not None and expires_at <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store the value, evicting the least recently used entry when full."""
        expires_at = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._entries[key] = (value, expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        """Remove one entry."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Remove every entry and list."""
        with self._lock:
            self._entries.clear()
            self._lists.clear()
            self._dropped.clear()

    def close(self) -> None:
        """Nothing to release: the entries live and die with the process."""

    def __len__(self) -> int:
        """Number of stored entries (expired ones included until next touched)."""
        return len(self._entries)

    def append(self, key: str, value: bytes) -> None:
        """Append to an in-memory list, bounded like the entries (oldest dropped)."""
        with self._lock:
            values = self._lists.setdefault(key, [])
            values.append(value)
            if len(values) > self.max_entries:
                del values[0]
                self._dropped[key] = self._dropped.get(key, 0) + 1

    def list_length(self, key: str) -> int:
        """Values ever appended under ``key``, dropped ones included (positions are stable)."""
        return self.list_bounds(key)[1]

    def list_bounds(self, key: str) -> tuple[int, int]:
        """The first kept position and the list's length."""
        with self._lock:
            dropped = self._dropped.get(key, 0)
            return dropped, dropped + len(self._lists.get(key, ()))

    def read_list(self, key: str, start: int = 0) -> list[bytes]:
        """A snapshot of the values at positions ``start`` and after that are still kept."""
        return [value for _, value in self.read_positioned(key, start)]

    def read_positioned(self, key: str, start: int = 0) -> list[tuple[int, bytes]]:
        """`read_list` with each value's position."""
        with self._lock:
            dropped = self._dropped.get(key, 0)
            offset = max(start - dropped, 0)
            values = self._lists.get(key, [])[offset:]
        return list(enumerate(values, dropped + offset))

    def trim_list(self, key: str, start: int) -> None:
        """Drop the values before position ``start``."""
        with self._lock:
            values = self._lists.get(key)
            count = min(start - self._dropped.get(key, 0), len(values or ()))
            if values is None or count <= 0:
                return
            del values[:count]
            self._dropped[key] = self._dropped.get(key, 0) + count
