"""Which keys a diskcache directory may hold, readable without a system call.

Under load every router call that misses the cache used to ask SQLite first. The query
itself takes microseconds, but it lets go of the GIL; on an event loop whose process
also runs worker threads (LangChain parses provider answers in an executor, the cache
commits in its own thread), getting the GIL back costs about a hundred microseconds,
and a miss is the common case: every call that reaches a provider.

So each directory keeps a presence map beside the database: a file of one-byte slots,
mapped into memory by every process that uses the directory. Storing a key sets its two
slots before the entry is committed; a lookup whose slots are not both set is a miss
for certain and skips SQLite, any other lookup asks SQLite as before. Slots are bytes,
not bits, so two processes setting slots of one byte at once cannot undo each other.
Slots are never unset: an evicted, expired or deleted entry only costs the query it
would have cost anyway.

A directory created before this map existed holds entries whose slots nobody set: the
first process to open the map fills them in from the database, then marks the map
ready; until then every lookup asks SQLite.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterable
from pathlib import Path

SLOTS = 1 << 23
"""8 MiB of slots: at a million entries about one sure miss in 20 still asks SQLite."""
_HEADER = mmap.PAGESIZE
"""The first page: byte 0 is 1 once every key of the database has its slots set."""
_READY = 1


class PresenceMap:
    """The shared slots of one directory (a file, created owner-only)."""

    def __init__(self, path: Path) -> None:
        """Open or create the map file and map it; its slots start unset."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _HEADER + SLOTS:  # sparse: pages cost disk once used
                os.ftruncate(fd, _HEADER + SLOTS)
            self._map = mmap.mmap(fd, _HEADER + SLOTS)
        finally:
            os.close(fd)  # the mapping keeps the file open

    @property
    def ready(self) -> bool:
        """Whether the slots cover every key of the database (else: ask SQLite)."""
        return self._map[0] == _READY

    def fill(self, keys: Iterable[str]) -> None:
        """Set the slots of the keys already in the database, then mark the map ready."""
        for key in keys:
            self.add(key)
        self._map[0] = _READY

    def add(self, key: str) -> None:
        """Set the slots of ``key``: call before the entry is committed."""
        first, second = _slots(key)
        self._map[first] = self._map[second] = 1

    def may_hold(self, key: str) -> bool:
        """False only when the database holds no entry for ``key`` (no system call)."""
        mapped = self._map
        if mapped[0] != _READY:
            return True
        first, second = _slots(key)
        return mapped[first] == 1 and mapped[second] == 1

    def close(self) -> None:
        """Unmap the file."""
        self._map.close()


def _slots(key: str) -> tuple[int, int]:
    """Two slot offsets from a stable hash: the same in every process (unlike `hash`)."""
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return _HEADER + (digest & (SLOTS - 1)), _HEADER + ((digest >> 32) & (SLOTS - 1))
