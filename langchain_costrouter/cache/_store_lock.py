"""Coalescing's second level: the store's lock, which one process at a time holds per key.

When the backend is shared (diskcache, Redis), a process's flight leader also takes a
lock in the store with a timeout (Redis ``SET NX PX``, diskcache ``add`` with expiry).
Another process's leader finding it taken polls the store until the answer appears or
the lock is gone; if the holder dies the lock expires and the waiter proceeds. A store
that is not shared, or fails, gives no lock: the caller leads without one. The first
level, the in-process flight, and the context callers enter are in `cache/coalesce.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Iterator

from langchain_costrouter import _syscalls
from langchain_costrouter.cache.codec import CacheDecodeError
from langchain_costrouter.cache.guard import BackendGuard

_FIRST_POLL = 0.002
_MAX_POLL = 0.1


class StoreLock:
    """Take, wait for and release the store's lock on a key, through ``guard``'s backend."""

    def __init__(self, guard: BackendGuard, *, lock_timeout: float) -> None:
        """Lock through ``guard``'s backend; a holder is trusted for ``lock_timeout`` s."""
        self.guard = guard
        self.lock_timeout = lock_timeout
        self.inline = guard.backend.inline
        """Whether the store's lock calls return at once: an async caller then makes them
        without coroutines (waiting for another process's leader is still awaited)."""

    def wait_remote(self, key: str) -> None:
        """Wait until another process's leader answered or let go (``lock_timeout`` at most)."""
        deadline = time.monotonic() + self.lock_timeout
        for delay in poll_delays():
            if time.monotonic() >= deadline or self._remote_done(key):
                return
            time.sleep(delay)

    async def await_remote(self, key: str) -> None:
        """Async `wait_remote`."""
        deadline = time.monotonic() + self.lock_timeout
        for delay in poll_delays():
            if time.monotonic() >= deadline or await self._aremote_done(key):
                return
            await asyncio.sleep(delay)

    def _remote_done(self, key: str) -> bool:
        """Whether the leader's answer is there or its lock gone; a failing store, or a
        bad entry under the key (`CacheDecodeError`, for the lookup after to deal with),
        releases the waiter too."""
        backend = self.guard.backend
        try:
            done = self.guard.run(
                "waiting for a coalesced call",
                lambda: backend.get(key) is not None or not backend.is_locked(key),
            )
        except CacheDecodeError:
            return True
        return done is not False

    async def _aremote_done(self, key: str) -> bool:
        backend = self.guard.backend

        async def check() -> bool:
            return await backend.aget(key) is not None or not await backend.ais_locked(key)

        try:
            return await self.guard.arun("waiting for a coalesced call", check) is not False
        except CacheDecodeError:
            return True

    def lock_remote(self, key: str) -> tuple[bool, str | None]:
        """Try the store's lock: whether another process leads, and the token taken.

        No token when the store is not shared, or failed: this caller leads without a lock.
        """
        backend = self.guard.backend
        if not backend.shared:
            return False, None
        token = _token()
        taken = self.guard.run("locking", backend.try_lock, key, self.lock_timeout, token)
        return _lock_outcome(taken, token)

    async def alock_remote(self, key: str) -> tuple[bool, str | None]:
        """Async `lock_remote`, for a store whose lock calls wait on the network."""
        backend = self.guard.backend
        if not backend.shared:
            return False, None
        token = _token()
        taken = await self.guard.arun(
            "locking", lambda: backend.atry_lock(key, self.lock_timeout, token)
        )
        return _lock_outcome(taken, token)

    def release_remote(self, key: str, token: str) -> None:
        """Let go of the store's lock this caller took with ``token``."""
        self.guard.run("unlocking", self.guard.backend.unlock, key, token)

    async def arelease_remote(self, key: str, token: str) -> None:
        """Async `release_remote`."""
        backend = self.guard.backend
        await self.guard.arun("unlocking", lambda: backend.aunlock(key, token))


_TOKEN_PREFIX = uuid.uuid4().hex
_token_numbers = itertools.count()


def _lock_outcome(taken: bool | None, token: str) -> tuple[bool, str | None]:
    """A lock try's answer (True, False: held elsewhere, None: the store failed) as
    whether another process leads, and the token this caller holds."""
    if taken is False:
        return True, None
    return False, token if taken else None


def _token() -> str:
    """A lock token unique across hosts, processes and calls, made without a system call.

    `uuid.uuid4` reads ``os.urandom``, which lets go of the GIL: on a busy event loop,
    getting it back costs more than the whole lock. A random prefix drawn once, the
    process id (a forked child shares the prefix) and a counter are as unique.
    """
    return f"{_TOKEN_PREFIX}-{_syscalls.pid()}-{next(_token_numbers)}"


def poll_delays() -> Iterator[float]:
    """2 ms, growing by half each time up to 100 ms: quick for fast calls, cheap for slow."""
    delay = _FIRST_POLL
    while True:
        yield delay
        delay = min(delay * 1.5, _MAX_POLL)
