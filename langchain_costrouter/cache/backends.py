"""The storage contract every cache backend meets: bytes in, bytes out.

Backends know nothing of messages or keys' meaning; they store JSON bytes under
string keys with an optional expiry, and, when they are shared between processes
(diskcache, Redis), offer a lock with a timeout for request coalescing.

Every failure of the store itself (connection refused, timeout, corrupt database)
surfaces as `CacheBackendError`, so the layer above can turn exactly those into a
miss with a warning while real bugs still raise.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from pathlib import Path


class CacheBackendError(OSError):
    """The store failed (down, unreachable, corrupt). Callers treat it as a miss."""


class CacheBackend(ABC):
    """A key/value store for cached answers.

    Async twins default to running the sync method in a worker thread, which keeps
    one implementation per backend; fast local backends override them to call the
    sync method directly, because a thread hop costs more than their lookup.
    """

    shared: bool = False
    """True when other processes see the same entries (enables cross-process locks)."""

    inline: bool = False
    """True when the async twins only call the sync methods (see `LocalBackend`)."""

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """Return the stored bytes, or None when absent or expired."""

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store ``value``; ``ttl`` seconds of life, or None for no expiry."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one entry (absent entries are fine)."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every entry this backend owns (its prefix only, for Redis)."""

    def append(self, key: str, value: bytes) -> None:
        """Append ``value`` to the list stored under ``key`` (semantic vectors)."""
        raise NotImplementedError(f"{type(self).__name__} stores no lists")

    def list_length(self, key: str) -> int:
        """How many values were ever appended under ``key`` (since it was last cleared).

        Positions never move, so a reader that has seen ``n`` values reads only what
        came after (`read_list` from ``n``) instead of the whole list on every lookup.
        """
        raise NotImplementedError(f"{type(self).__name__} stores no lists")

    def read_list(self, key: str, start: int = 0) -> list[bytes]:
        """The values at positions ``start`` and after, oldest first.

        A backend may have dropped old values (bounded memory, eviction); those are
        simply absent, so a reader checks the first value it gets against the one it
        saw at that position.
        """
        raise NotImplementedError(f"{type(self).__name__} stores no lists")

    def list_bounds(self, key: str) -> tuple[int, int]:
        """The position of the first value still kept under ``key``, and `list_length`.

        Positions before the first were dropped (`trim_list`); one call, so a reader
        learns both at once. A backend that never trims keeps from 0.
        """
        return 0, self.list_length(key)

    def read_positioned(self, key: str, start: int = 0) -> list[tuple[int, bytes]]:
        """`read_list` with each value's position, so a reader knows what to trim."""
        return list(enumerate(self.read_list(key, start), start))

    def trim_list(self, key: str, start: int) -> None:  # noqa: B027 - optional to override
        """Drop the values at positions before ``start`` (some of them: a backend may
        bound the work of one call). Positions do not move: `list_length` still counts
        every value ever appended. The default drops nothing."""

    def index_directory(self) -> Path | None:
        """This machine's owner-only directory for search indexes derived from the lists.

        None (the default) keeps them in the process, shared by the caches on this
        backend object; a store shared between processes names a directory so that a
        new process maps its indexes instead of rebuilding them. ``clear`` empties it.
        """
        return None

    def try_lock(self, name: str, ttl: float, token: str) -> bool:
        """Take the lock ``name`` for ``ttl`` seconds unless someone holds it."""
        raise NotImplementedError(f"{type(self).__name__} is not shared between processes")

    def unlock(self, name: str, token: str) -> None:
        """Release the lock if ``token`` still holds it (it may have expired)."""
        raise NotImplementedError(f"{type(self).__name__} is not shared between processes")

    def is_locked(self, name: str) -> bool:
        """Whether someone holds the lock ``name`` now."""
        raise NotImplementedError(f"{type(self).__name__} is not shared between processes")

    @abstractmethod
    def close(self) -> None:
        """Release connections and files. The backend may not be used afterwards."""

    async def aget(self, key: str) -> bytes | None:
        """Async `get`."""
        return await asyncio.to_thread(self.get, key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        """Async `set`."""
        await asyncio.to_thread(self.set, key, value, ttl)

    async def atry_lock(self, name: str, ttl: float, token: str) -> bool:
        """Async `try_lock`."""
        return await asyncio.to_thread(self.try_lock, name, ttl, token)

    async def aunlock(self, name: str, token: str) -> None:
        """Async `unlock`."""
        await asyncio.to_thread(self.unlock, name, token)

    async def ais_locked(self, name: str) -> bool:
        """Async `is_locked`."""
        return await asyncio.to_thread(self.is_locked, name)


class LocalBackend(CacheBackend, ABC):
    """A backend whose operations take microseconds: async twins call sync directly."""

    inline = True
    """Every async twin only calls its sync method, so an async caller may call the sync
    one instead and save a coroutine per operation (`ResponseCache` does, on every call
    of the router). A subclass whose async twins do more sets this to False."""

    async def aget(self, key: str) -> bytes | None:
        """Async `get` without a thread hop."""
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        """Async `set` without a thread hop."""
        self.set(key, value, ttl)

    async def atry_lock(self, name: str, ttl: float, token: str) -> bool:
        """Async `try_lock` without a thread hop."""
        return self.try_lock(name, ttl, token)

    async def aunlock(self, name: str, token: str) -> None:
        """Async `unlock` without a thread hop."""
        self.unlock(name, token)

    async def ais_locked(self, name: str) -> bool:
        """Async `is_locked` without a thread hop."""
        return self.is_locked(name)
