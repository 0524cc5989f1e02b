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

_writers: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_held: list[threading.Lock] = []


def hold_across_fork(writer: object, lock_attribute: str) -> None:
    """Make a fork wait while ``writer`` holds ``getattr(writer, lock_attribute)``.

    The attribute is read at each fork, so a writer may replace its lock (as it does in
    a forked child). Only a weak reference to ``writer`` is kept.
    """
    _writers[writer] = lock_attribute


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
