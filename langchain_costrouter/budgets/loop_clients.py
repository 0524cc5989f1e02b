"""A store's async clients, one per event loop, closed as their loop ends or with the store.

A connection of ``redis.asyncio`` or of psycopg's async driver belongs to the event loop
that opened it, so the Redis and Postgres stores open an async client per loop
(budgets/redis_store.py, budgets/sql_connections.py). Two things close one:

- its loop's end: a generator suspended for as long as the loop runs
  (`LoopClients._closed_with_loop`), which `asyncio.run` and `asyncio.Runner` close as
  their loop ends, closes the client on that loop. A client's connections may hold its
  loop, so an entry kept for good would keep both alive: a sync app calling
  ``asyncio.run`` per request once left a Redis socket open per request until the
  process ran out of descriptors (and a Postgres pool until the collector found it). A
  loop closed without ending its generators (``loop.close()`` alone) keeps its entry,
  and so its connections, until the store's close ends them;
- the store's close (a router's ``close()`` or ``aclose()``, which once closed only the
  blocking client and left every loop's connections open on the server):
  `LoopClients.close_all` closes each client as the state of its loop allows, never
  awaiting a loop's sockets from another loop (which fails with "attached to a
  different loop" or "Event loop is closed"):

  - the loop runs in another thread (the loop awaiting ``router.aclose()``, which
    closes on a worker thread; a loop of the application's): the client is closed on
    it, and ``close_all`` waits for that (`CLOSE_WAIT_SECONDS`; a loop that does not get
    to it in time, busy or stopped, has the client dropped as below);
  - the loop runs in this thread (the blocking ``close()`` called from one of its
    coroutines, which cannot wait for its own loop): the close is a task of that loop,
    done as soon as the coroutine awaits (``aclose()`` waits for it instead);
  - the loop is idle (neither running nor closed) or closed: nothing may run on it from
    here (running an idle loop would run the application's callbacks on this thread),
    so the client is dropped: its connections end now, without the loop, as the store
    knows how (Redis shuts its sockets down, the descriptors staying with the loop's
    transports; psycopg closes its connections on a private loop, as closing one needs
    none). An idle loop's generator is kept, so the loop still closes the client as it
    ends (left to the collector, the generator would have the loop close it in a task
    that ``loop.close()`` then destroys pending); a closed loop can close nothing, and
    Python closes what is left as it collects it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
CLOSE_WAIT_SECONDS = 5.0
"""How long `LoopClients.close_all` waits for a loop of another thread to close its client."""

_CLOSING: set[asyncio.Task[None]] = set()
"""Closes left to a loop as tasks: held here until done (a loop keeps weak references)."""


class _Entry(Generic[T]):
    """One loop's client and the generator that closes it as the loop ends."""

    __slots__ = ("client", "closer", "loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, client: T, closer: AsyncGenerator[None, None]
    ) -> None:
        self.loop, self.client, self.closer = loop, client, closer


class LoopClients(Generic[T]):
    """The client of each event loop: opened by ``open``, closed by ``close`` on its own
    loop, or ended by ``drop`` when nothing may run on that loop."""

    def __init__(
        self,
        open: Callable[[], T],
        close: Callable[[T], Coroutine[Any, Any, None]],
        drop: Callable[[T], None],
    ) -> None:
        self._open, self._close, self._drop = open, close, drop
        self._entries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry[T]] = (
            weakref.WeakKeyDictionary()
        )
        self._left: dict[int, _Entry[T]] = {}
        """Dropped on an idle loop, by ``id`` of the client: closed as that loop ends."""
        self._lock = threading.Lock()  # loops of several threads, and the closing one

    async def get(self) -> T:
        """The running loop's client, opened on first use."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(loop)  # one dict read: no lock on the per-call path
        if entry is None:
            client = self._open()
            entry = _Entry(loop, client, self._closed_with_loop(loop, client))
            await entry.closer.asend(None)  # to its yield: nothing else runs meanwhile
            with self._lock:
                self._entries[loop] = entry
        return entry.client

    def close_all(self) -> None:
        """Close every loop's client (see the module docstring for each loop's state)."""
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            self._close_one(entry)

    async def _closed_with_loop(
        self, loop: asyncio.AbstractEventLoop, client: T
    ) -> AsyncGenerator[None, None]:
        """Suspended for as long as ``loop`` runs; closed as the loop ends (or by
        `close_all`, on the loop), which closes ``client`` on that loop."""
        try:
            yield
        finally:
            with self._lock:
                entry = self._entries.get(loop)
                if entry is not None and entry.client is client:
                    del self._entries[loop]
                self._left.pop(id(client), None)
            await self._close(client)

    def _close_one(self, entry: _Entry[T]) -> None:
        loop = entry.loop
        if loop.is_closed() or not loop.is_running():
            self._dropped(entry)
        elif loop is _running_loop():
            task = loop.create_task(_ended(entry.closer))
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)
        else:
            closing = asyncio.run_coroutine_threadsafe(_ended(entry.closer), loop)
            try:
                closing.result(CLOSE_WAIT_SECONDS)
            except Exception:  # not in time (the loop stopped, or is blocked), or failed
                closing.cancel()
                self._dropped(entry)

    def _dropped(self, entry: _Entry[T]) -> None:
        self._drop(entry.client)
        if not entry.loop.is_closed():
            with self._lock:
                self._left[id(entry.client)] = entry


async def _ended(closer: AsyncGenerator[None, Any]) -> None:
    await closer.aclose()


def run_aside(make: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """``make()`` run to its end on a private event loop of a thread of its own, so that
    it runs even when this thread is in a loop (a blocking ``close()`` in a coroutine)."""
    outcome: list[R] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(make()))
        except BaseException as error:  # raised again on the caller's thread
            failure.append(error)

    worker = threading.Thread(target=run, name="costrouter-loop-client-close")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return outcome[0]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
