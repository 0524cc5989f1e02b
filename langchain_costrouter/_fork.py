"""Background writers never fork half-way through a database write.

A child made by ``fork()`` gets a copy of the parent's memory, SQLite's included. When a
writer thread of the parent is inside a transaction at that moment, the child's copy of
SQLite's per-process table of file locks says a connection of the child holds the
database's write lock; that connection's thread does not exist in the child, so the lock
is never let go and every write the child makes waits out its busy timeout and fails,
again and again (seen: a forked worker's ledger never wrote, and its exit hung). The
SQLite manual says the same: no transaction may cross a fork.

So each background writer names the lock it holds while it writes, and a fork waits for
those locks: it happens between two writes, never during one. The child gets the locks
released (the writers also make new ones on their first use there). The price: a fork
waits as long as the write under way, milliseconds normally, up to the database's
connection or busy timeout while it is unreachable.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

_writers: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_held: list[threading.Lock] = []


def hold_across_fork(writer: object, lock_attribute: str) -> None:
    """Make a fork wait while ``writer`` holds ``getattr(writer, lock_attribute)``.

    The attribute is read at each fork, so a writer may replace its lock (as it does in
    a forked child). Only a weak reference to ``writer`` is kept.
    """
    _writers[writer] = lock_attribute


class ForkGate:
    """For writes made on the callers' threads, many at once (the SQLite budget store's).

    `entered` lets any number of writes run together; a fork (``acquire``, through
    `hold_across_fork`) waits until none is under way and keeps new ones out until it is
    done. The fork keeps the gate's lock from then on, so no thread of the parent holds
    it when the child is copied.
    """

    def __init__(self) -> None:
        """A gate with no write under way."""
        self._changed = threading.Condition(threading.Lock())
        self._writing = 0
        self._forking = False

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Run the body as one write a fork waits for."""
        with self._changed:
            while self._forking:
                self._changed.wait()
            self._writing += 1
        try:
            yield
        finally:
            with self._changed:
                self._writing -= 1
                self._changed.notify_all()

    def acquire(self) -> None:
        """Wait for the writes under way, shut out new ones; the lock stays held."""
        self._changed.acquire()
        self._forking = True
        while self._writing:
            self._changed.wait()

    def release(self) -> None:
        """Let writes in again (in the parent and in the child)."""
        self._forking = False
        self._changed.notify_all()
        self._changed.release()


def _before_fork() -> None:
    locks = [getattr(writer, name) for writer, name in list(_writers.items())]
    for lock in locks:
        lock.acquire()
        _held.append(lock)


def _after_fork() -> None:
    while _held:
        _held.pop().release()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
    )
