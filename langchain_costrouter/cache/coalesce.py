"""Request coalescing: N concurrent identical misses make one provider call.

Two levels, so each process sends at most one waiter to the shared store:

1. In-process, a "flight" lock per key, shared by threads and asyncio tasks (async
   waiters poll it instead of blocking the event loop).
2. Across processes, when the backend is shared (diskcache, Redis), a store lock
   with a timeout (Redis ``SET NX PX``, diskcache ``add`` with expiry). Waiters poll
   the store until the answer appears or the lock is gone; if the holder dies the
   lock expires and they proceed.

The context yields ``leader``: True for the one caller that holds the locks. A
follower is released once the leader finishes (or after ``lock_timeout``) and must
re-run the cache lookup, which the leader's answer usually satisfies. Every caller
should look up again inside the block anyway: a request whose first lookup missed
just before another finished storing becomes a leader of a flight already answered.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from langchain_costrouter.cache.guard import BackendGuard

_FIRST_POLL = 0.002
_MAX_POLL = 0.1


class Coalescer:
    """Hands out per-key leadership to one caller at a time, locally and in the store."""

    def __init__(self, guard: BackendGuard, *, lock_timeout: float = 30.0) -> None:
        """Coalesce through ``guard``'s backend; a leader is trusted for ``lock_timeout`` s."""
        self.guard = guard
        self.lock_timeout = lock_timeout
        self._flights: dict[str, tuple[threading.Lock, int]] = {}
        self._flights_lock = threading.Lock()

    @contextmanager
    def hold(self, key: str) -> Iterator[bool]:
        """Blocking coalescing for threads: yield True to the leader, False to followers."""
        flight = self._join(key)
        try:
            if not flight.acquire(blocking=False):
                _wait_and_release(flight, self.lock_timeout)
                yield False
                return
            try:
                with self._remote(key) as leader:
                    yield leader
            finally:
                flight.release()
        finally:
            self._leave(key)

    @asynccontextmanager
    async def ahold(self, key: str) -> AsyncIterator[bool]:
        """Async coalescing for tasks (and threads sharing the same keys)."""
        flight = self._join(key)
        try:
            if not flight.acquire(blocking=False):
                await _await_and_release(flight, self.lock_timeout)
                yield False
                return
            try:
                async with self._aremote(key) as leader:
                    yield leader
            finally:
                flight.release()
        finally:
            self._leave(key)

    @contextmanager
    def _remote(self, key: str) -> Iterator[bool]:
        backend = self.guard.backend
        if not backend.shared:
            yield True
            return
        token = _token()
        taken = self.guard.run("locking", lambda: backend.try_lock(key, self.lock_timeout, token))
        if taken is False:
            self._wait_remote(key)
            yield False
            return
        try:
            yield True
        finally:
            if taken:
                self.guard.run("unlocking", lambda: backend.unlock(key, token))

    @asynccontextmanager
    async def _aremote(self, key: str) -> AsyncIterator[bool]:
        backend = self.guard.backend
        if not backend.shared:
            yield True
            return
        token = _token()
        taken = await self.guard.arun(
            "locking", lambda: backend.atry_lock(key, self.lock_timeout, token)
        )
        if taken is False:
            await self._await_remote(key)
            yield False
            return
        try:
            yield True
        finally:
            if taken:
                await self.guard.arun("unlocking", lambda: backend.aunlock(key, token))

    def _wait_remote(self, key: str) -> None:
        deadline = time.monotonic() + self.lock_timeout
        for delay in _poll_delays():
            if time.monotonic() >= deadline or self._remote_done(key):
                return
            time.sleep(delay)

    async def _await_remote(self, key: str) -> None:
        deadline = time.monotonic() + self.lock_timeout
        for delay in _poll_delays():
            if time.monotonic() >= deadline or await self._aremote_done(key):
                return
            await asyncio.sleep(delay)

    def _remote_done(self, key: str) -> bool:
        backend = self.guard.backend
        done = self.guard.run(
            "waiting for a coalesced call",
            lambda: backend.get(key) is not None or not backend.is_locked(key),
        )
        return done is not False  # a failing store releases the waiter

    async def _aremote_done(self, key: str) -> bool:
        backend = self.guard.backend

        async def check() -> bool:
            return await backend.aget(key) is not None or not await backend.ais_locked(key)

        return await self.guard.arun("waiting for a coalesced call", check) is not False

    def _join(self, key: str) -> threading.Lock:
        with self._flights_lock:
            lock, waiters = self._flights.get(key) or (threading.Lock(), 0)
            self._flights[key] = (lock, waiters + 1)
            return lock

    def _leave(self, key: str) -> None:
        with self._flights_lock:
            lock, waiters = self._flights[key]
            if waiters == 1:
                del self._flights[key]
            else:
                self._flights[key] = (lock, waiters - 1)


_TOKEN_PREFIX = uuid.uuid4().hex
_token_numbers = itertools.count()


def _token() -> str:
    """A lock token unique across hosts, processes and calls, made without a system call.

    `uuid.uuid4` reads ``os.urandom``, which lets go of the GIL: on a busy event loop,
    getting it back costs more than the whole lock. A random prefix drawn once, the
    process id (a forked child shares the prefix) and a counter are as unique.
    """
    return f"{_TOKEN_PREFIX}-{os.getpid()}-{next(_token_numbers)}"


def _poll_delays() -> Iterator[float]:
    """2 ms, growing by half each time up to 100 ms: quick for fast calls, cheap for slow."""
    delay = _FIRST_POLL
    while True:
        yield delay
        delay = min(delay * 1.5, _MAX_POLL)


def _wait_and_release(flight: threading.Lock, timeout: float) -> None:
    if flight.acquire(timeout=timeout):
        flight.release()


async def _await_and_release(flight: threading.Lock, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for delay in _poll_delays():
        if flight.acquire(blocking=False):
            flight.release()
            return
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(delay)
