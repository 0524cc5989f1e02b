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

A writer that queues its writes (the diskcache write-behind) is flushed before the fork,
and told in the child to forget what the parent queued meanwhile (`flush_before_fork`):
each write is committed once, by the parent, and the child starts empty. A writer whose
queue the parent goes on writing itself (the ledger's) is only told to forget it in the
child (`forget_parent_in_child`), as the child starts and before it runs anything else.

The garbage collector is paused from the first flush until the locks are released: a
collection there could run a writer's finalizer, which takes a lock the fork holds.
"""

from __future__ import annotations

import gc
import multiprocessing.util
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

_writers: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_held: list[threading.Lock] = []
_collecting: list[bool] = []
"""Whether the garbage collector ran before the fork under way (it is paused during it)."""


class ForgetfulWriter(Protocol):
    """A writer whose queue a fork empties in the child."""

    def forget_parent(self) -> None:
        """In the child: drop the inherited queue, start with no thread."""


class QueuedWriter(ForgetfulWriter, Protocol):
    """A writer whose queue a fork commits first (parent) and empties (child)."""

    def flush(self) -> None:
        """Commit everything queued, on the calling thread."""


_queued: weakref.WeakSet[QueuedWriter] = weakref.WeakSet()
_forgetful: weakref.WeakSet[ForgetfulWriter] = weakref.WeakSet()


def hold_across_fork(writer: object, lock_attribute: str) -> None:
    """Make a fork wait while ``writer`` holds ``getattr(writer, lock_attribute)``.

    The attribute is read at each fork, so a writer may replace its lock (as it does in
    a forked child). Only a weak reference to ``writer`` is kept.
    """
    _writers[writer] = lock_attribute


def flush_before_fork(writer: QueuedWriter) -> None:
    """Flush ``writer`` before each fork and call its ``forget_parent`` in the child.

    The flush runs before any writer's lock is taken (it takes its own), on the
    forking thread. Only a weak reference to ``writer`` is kept.
    """
    _queued.add(writer)
    _forgetful.add(writer)


def forget_parent_in_child(writer: ForgetfulWriter) -> None:
    """Call ``writer``'s ``forget_parent`` in each forked child, before it goes on.

    For a writer whose queue the parent writes after the fork as before. Only a weak
    reference to ``writer`` is kept.
    """
    _forgetful.add(writer)


def run_at_worker_exit(owner: object, action: Callable[[], object]) -> None:
    """Run ``action`` at this process's exit and at the exit of each multiprocessing
    worker forked from it, while ``owner`` lives.

    A multiprocessing worker (fork start method) drops the exit finalizers it inherited
    and leaves with ``os._exit()``, running only the ones registered since: so the
    finalizer is registered again in each worker, after the fork. ``action`` must not
    hold ``owner`` (only a weak reference to it is kept, so the owner can be collected).
    """
    _finalize_at_exit(owner, action)
    multiprocessing.util.register_after_fork(owner, lambda alive: _finalize_at_exit(alive, action))


def _finalize_at_exit(owner: object, action: Callable[[], object]) -> None:
    multiprocessing.util.Finalize(owner, action, exitpriority=10)


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
    # No garbage collection until the locks are released: a writer or its owner
    # collected in between runs a finalizer that commits, and waits for, a lock this
    # thread holds (seen: a fork hung for ever on a collected cache's queue).
    _collecting.append(gc.isenabled())
    gc.disable()
    try:
        _flush_queued()
    finally:  # a failed flush is reported by Python; the fork still waits for writes
        locks = [getattr(writer, name) for writer, name in list(_writers.items())]
        for lock in locks:
            lock.acquire()
            _held.append(lock)


def _flush_queued() -> None:
    """Flush every queued writer; a function of its own, so that no writer is still
    referenced by the fork's frame (and freed there) once the locks are held."""
    for writer in list(_queued):
        writer.flush()


def _after_fork_in_parent() -> None:
    _release_held()
    _resume_collection()


def _after_fork_in_child() -> None:
    _release_held()
    try:  # before any collection: a finalizer would write what the parent queued
        for writer in list(_forgetful):
            writer.forget_parent()
    finally:
        _resume_collection()


def _release_held() -> None:
    while _held:
        _held.pop().release()


def _resume_collection() -> None:
    if _collecting and _collecting.pop():
        gc.enable()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
