"""Request coalescing: N concurrent identical misses make one provider call.

Two levels, so each process sends at most one waiter to the shared store:

1. In-process, a "flight" lock per key, shared by threads and asyncio tasks (async
   waiters poll it instead of blocking the event loop).
2. Across processes, when the backend is shared (diskcache, Redis), a store lock
   with a timeout (Redis ``SET NX PX``, diskcache ``add`` with expiry). Waiters poll
   the store until the answer appears or the lock is gone; if the holder dies the
   lock expires and they proceed (`cache/_store_lock.py`).

The context yields ``leader``: True for the one caller that holds the locks. A
follower is released once the leader finishes (or after ``lock_timeout``) and must
re-run the cache lookup, which the leader's answer usually satisfies. Every caller
should look up again inside the block anyway: a request whose first lookup missed
just before another finished storing becomes a leader of a flight already answered.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

from langchain_costrouter.cache._store_lock import StoreLock, poll_delays
from langchain_costrouter.cache.guard import BackendGuard

T = TypeVar("T")


class Coalescer(StoreLock):
    """Hands out per-key leadership to one caller at a time, locally and in the store.

    The store's lock (taking, waiting for and releasing it) is `StoreLock`'s, in
    `cache/_store_lock.py`; the in-process flights are here.
    """

    def __init__(self, guard: BackendGuard, *, lock_timeout: float = 30.0) -> None:
        """Coalesce through ``guard``'s backend; a leader is trusted for ``lock_timeout`` s."""
        super().__init__(guard, lock_timeout=lock_timeout)
        self._flights: dict[str, tuple[threading.Lock, int]] = {}
        self._flights_lock = threading.Lock()
        _coalescers.add(self)

    def hold(self, key: str) -> AbstractContextManager[bool]:
        """Blocking coalescing for threads: yield True to the leader, False to followers."""
        return _Flight(self, key)

    def ahold(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Async coalescing for tasks (and threads sharing the same keys)."""
        return _Flight(self, key)

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
        led_elsewhere, self._token = self._failing(coalescer.lock_remote, self._key)
        if led_elsewhere:
            self._failing(coalescer.wait_remote, self._key)
        return not led_elsewhere

    def __exit__(self, *exc_info: object) -> None:
        try:
            if (token := self._token) is not None:
                self._coalescer.release_remote(self._key, token)
        finally:
            self._leave()

    async def __aenter__(self) -> bool:
        flight = self._join()
        coalescer = self._coalescer
        if not self._leading:
            await self._afailing(_await_and_release(flight, coalescer.lock_timeout))
            return False
        if coalescer.inline:
            led_elsewhere, self._token = self._failing(coalescer.lock_remote, self._key)
        else:
            led_elsewhere, self._token = await self._afailing(coalescer.alock_remote(self._key))
        if led_elsewhere:
            await self._afailing(coalescer.await_remote(self._key))
        return not led_elsewhere

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if (token := self._token) is not None:
                if self._coalescer.inline:
                    self._coalescer.release_remote(self._key, token)
                else:
                    await self._coalescer.arelease_remote(self._key, token)
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


def _wait_and_release(flight: threading.Lock, timeout: float) -> None:
    if flight.acquire(timeout=timeout):
        flight.release()


async def _await_and_release(flight: threading.Lock, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for delay in poll_delays():
        if flight.acquire(blocking=False):
            flight.release()
            return
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(delay)
