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
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

from langchain_costrouter import _syscalls
from langchain_costrouter.cache.codec import CacheDecodeError
from langchain_costrouter.cache.guard import BackendGuard

T = TypeVar("T")
_FIRST_POLL = 0.002
_MAX_POLL = 0.1


class Coalescer:
    """Hands out per-key leadership to one caller at a time, locally and in the store."""

    def __init__(self, guard: BackendGuard, *, lock_timeout: float = 30.0) -> None:
        """Coalesce through ``guard``'s backend; a leader is trusted for ``lock_timeout`` s."""
        self.guard = guard
        self.lock_timeout = lock_timeout
        self._inline = guard.backend.inline
        """Whether the store's lock calls return at once: an async caller then makes them
        without coroutines (waiting for another process's leader is still awaited)."""
        self._flights: dict[str, tuple[threading.Lock, int]] = {}
        self._flights_lock = threading.Lock()
        _coalescers.add(self)

    def hold(self, key: str) -> AbstractContextManager[bool]:
        """Blocking coalescing for threads: yield True to the leader, False to followers."""
        return _Flight(self, key)

    def ahold(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Async coalescing for tasks (and threads sharing the same keys)."""
        return _Flight(self, key)

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

    def _lock_remote(self, key: str) -> tuple[bool, str | None]:
        """Try the store's lock: whether another process leads, and the token taken.

        No token when the store is not shared, or failed: this caller leads without a lock.
        """
        backend = self.guard.backend
        if not backend.shared:
            return False, None
        token = _token()
        taken = self.guard.run("locking", backend.try_lock, key, self.lock_timeout, token)
        return _lock_outcome(taken, token)

    async def _alock_remote(self, key: str) -> tuple[bool, str | None]:
        """Async `_lock_remote`, for a store whose lock calls wait on the network."""
        backend = self.guard.backend
        if not backend.shared:
            return False, None
        token = _token()
        taken = await self.guard.arun(
            "locking", lambda: backend.atry_lock(key, self.lock_timeout, token)
        )
        return _lock_outcome(taken, token)

    def _release_remote(self, key: str, token: str) -> None:
        self.guard.run("unlocking", self.guard.backend.unlock, key, token)

    async def _arelease_remote(self, key: str, token: str) -> None:
        backend = self.guard.backend
        await self.guard.arun("unlocking", lambda: backend.aunlock(key, token))

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


_coalescers: weakref.WeakSet[Coalescer] = weakref.WeakSet()


def _forget_flights_in_child() -> None:
    """A forked child has none of its parent's threads, so none of their flights: copied,
    a flight led in the parent would hold the child's same requests for ``lock_timeout``
    (and a copied held ``_flights_lock`` would hang it). The parent's store locks stay,
    so the child still waits for a call the parent has under way."""
    for coalescer in list(_coalescers):
        coalescer._flights = {}
        coalescer._flights_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=_forget_flights_in_child)


class _Flight:
    """One caller's place in a key's flight: `Coalescer.hold` and `Coalescer.ahold`.

    A class rather than generator-based context managers: every routed cache miss
    enters one, and two nested ``@contextmanager`` generators cost about three times
    as much as these methods. A leader holds the key's local flight lock and, on a
    shared store, the store's lock (its token); a follower holds neither.
    """

    __slots__ = ("_coalescer", "_flight", "_key", "_leading", "_token")

    def __init__(self, coalescer: Coalescer, key: str) -> None:
        self._coalescer = coalescer
        self._key = key
        self._flight: threading.Lock | None = None
        """The key's local flight lock (joined on entry)."""
        self._leading = False
        """Whether this caller holds the flight lock (else it waited for the leader)."""
        self._token: str | None = None
        """The store lock's token, while this caller holds that lock."""

    def __enter__(self) -> bool:
        flight = self._join()
        coalescer = self._coalescer
        if not self._leading:
            self._failing(_wait_and_release, flight, coalescer.lock_timeout)
            return False
        led_elsewhere, self._token = self._failing(coalescer._lock_remote, self._key)
        if led_elsewhere:
            self._failing(coalescer._wait_remote, self._key)
        return not led_elsewhere

    def __exit__(self, *exc_info: object) -> None:
        try:
            if (token := self._token) is not None:
                self._coalescer._release_remote(self._key, token)
        finally:
            self._leave()

    async def __aenter__(self) -> bool:
        flight = self._join()
        coalescer = self._coalescer
        if not self._leading:
            await self._afailing(_await_and_release(flight, coalescer.lock_timeout))
            return False
        if coalescer._inline:
            led_elsewhere, self._token = self._failing(coalescer._lock_remote, self._key)
        else:
            led_elsewhere, self._token = await self._afailing(coalescer._alock_remote(self._key))
        if led_elsewhere:
            await self._afailing(coalescer._await_remote(self._key))
        return not led_elsewhere

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if (token := self._token) is not None:
                if self._coalescer._inline:
                    self._coalescer._release_remote(self._key, token)
                else:
                    await self._coalescer._arelease_remote(self._key, token)
        finally:
            self._leave()

    def _join(self) -> threading.Lock:
        """Join the key's flight: its lock, which this caller leads if it can take it."""
        flight = self._flight = self._coalescer._join(self._key)
        self._leading = flight.acquire(blocking=False)
        return flight

    def _failing(self, operation: Callable[..., T], *args: Any) -> T:
        """``operation(*args)``; if it raises, leave the flight before the error propagates."""
        try:
            return operation(*args)
        except BaseException:
            self._leave()
            raise

    async def _afailing(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except BaseException:
            self._leave()
            raise

    def _leave(self) -> None:
        """Let go of the flight lock if this caller leads, and of its place in the flight."""
        flight, self._flight, self._token = self._flight, None, None
        try:
            if flight is not None and self._leading:
                flight.release()
        finally:
            if flight is not None:
                self._coalescer._leave(self._key)


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
