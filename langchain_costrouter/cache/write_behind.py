"""Writes of a local store, committed by one background thread, many per transaction.

Storing an answer in diskcache is an SQLite write transaction: about 50 µs of CPU, and
every few hundred commits a WAL checkpoint that waits on the disk, all of it on the
caller's thread (for an async caller, the event loop). Here the caller only records the
write; one thread commits whatever has queued up in a single transaction, so the cost
per entry falls and the waiting happens off the caller's path.

Nothing is lost to the reader in between: `WriteBehind.read` answers reads of values
not yet committed (read-your-writes for the whole process), and actions queued with
`after_commit` (releasing a coalescing lock) run only once the writes queued before them
are committed, so a follower in another process that sees the lock go finds the entry.
Pending writes are committed by `flush`, `close`, when the queue is collected, at
interpreter exit and at the exit of a multiprocessing worker; a process killed outright
loses at most its last `GATHER_SECONDS` of writes, which for a cache only means a miss.
The finalizers hold the queue's parts and its ``commit``, never the queue itself: a
``commit`` bound to the queue's owner would keep the owner until the process exits.

Across ``fork()`` (`_fork`) each write is committed once, by the process that made it:
the parent commits its queue before the fork, and the child starts with an empty queue
and no thread (a write the parent queued while the fork happened is the parent's). A
multiprocessing child (fork start method) drops the exit finalizers it inherited and
then leaves with ``os._exit()``, running only the ones registered since; so the child
registers its own after the fork (``multiprocessing.util.register_after_fork``). A child
of a bare ``os.fork()`` that ends with ``os._exit()`` runs no hook at all, and no
library can commit for it: it must call `flush` or `close` first (the backend's or
the cache's ``close()``).
"""

from __future__ import annotations

import collections
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import NamedTuple

from langchain_costrouter import _fork
from langchain_costrouter.cache.backends import CacheBackendError
from langchain_costrouter.errors import BackendUnavailableWarning


class Write(NamedTuple):
    key: str
    value: bytes
    expires_at: float | None
    """Wall-clock time (``time.time()``) the entry dies: fixed when written, not committed."""


Commit = Callable[[list[Write]], None]
MAX_QUEUED = 512
"""Writes that may wait for the writer thread; past that the caller commits them itself."""
GATHER_SECONDS = 0.02
"""How long the writer waits, once woken, for more writes to commit in the same transaction.

A commit costs the process far more than its SQLite time: every statement lets go of
the GIL, and the writer gets it back only by forcing the thread that is serving calls
to give it up. Measured on a router answering one call at a time over loopback: at 2 ms
the writer committed every call or two (seven context switches per call, the cache
adding 270 µs of CPU to each call); at 20 ms it commits about twenty calls at once
(four switches, 190 µs). The price: another process sees an entry, and
a coalesced follower there is released, up to 20 ms later (this process reads its own
writes at once)."""
IDLE_SECONDS = 5.0
"""How long the writer thread waits for work before it ends (a new write starts one)."""


class WriteBehind:
    """A queue of writes and follow-up actions, drained in order by one daemon thread."""

    def __init__(self, commit: Commit) -> None:
        """``commit`` stores a batch of writes in one transaction (on the writer thread)."""
        self._commit = commit
        self.pending: dict[str, Write] = {}
        """Writes not committed yet, by key: reads look here first."""
        self._queue: collections.deque[Write | Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()
        self._life = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._leave = False
        """Set by `stop_thread`: the thread ends once the queue is empty."""
        _fork.hold_across_fork(self, "_lock")
        _fork.flush_before_fork(self)
        self._at_exit = weakref.finalize(
            self, _drain, self._queue, self._lock, commit, self.pending
        )
        _fork.run_at_worker_exit(self, self._at_exit)

    def write(self, key: str, value: bytes, ttl: float | None) -> None:
        """Queue a write; readers of this process see it at once (`read`)."""
        write = Write(key, value, None if ttl is None else time.time() + ttl)
        self.pending[key] = write
        self._queue.append(write)
        if len(self._queue) >= MAX_QUEUED:  # the writer thread is starved: write here
            self.flush()
            return
        self._start()

    def read(self, key: str) -> bytes | None:
        """A value written but not committed yet (None: absent, or expired already)."""
        write = self.pending.get(key)
        if write is None or (write.expires_at is not None and write.expires_at <= time.time()):
            return None
        return write.value

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once every write queued so far is committed (now, if none is)."""
        if not self._queue and not self._lock.locked():
            action()
            return
        self._queue.append(action)
        self._start()

    def flush(self) -> None:
        """Commit everything queued, on the calling thread."""
        _drain(self._queue, self._lock, self._commit, self.pending)

    def close(self) -> None:
        """Commit what is queued and stop the thread.

        Also run by the store's finalizer, so possibly by a garbage collection on the
        writer thread in the middle of a commit, holding ``_lock``: the thread then
        commits the rest itself on its way out.
        """
        self._closed = True
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self.flush()

    def stop_thread(self) -> None:
        """Commit what is queued and end the thread now rather than after `IDLE_SECONDS`:
        a closed router leaves no thread behind. A later write starts a new one (the
        directory's store is shared by every cache of this process on it)."""
        with self._life:
            thread, self._leave = self._thread, True
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.flush()

    def _start(self) -> None:
        if self._thread is None:
            with self._life:
                if self._thread is None:
                    self._leave = False
                    self._thread = threading.Thread(
                        target=self._run, name="costrouter-cache-writer", daemon=True
                    )
                    self._thread.start()
        if not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        """Commit whatever queues up; leave after `IDLE_SECONDS` with nothing to do."""
        while not self._closed:
            woke = self._wake.wait(IDLE_SECONDS)
            if woke:  # let a burst of writes gather: one transaction for all of them
                time.sleep(GATHER_SECONDS)
            self._wake.clear()
            self.flush()
            if not woke or self._leave:
                with self._life:  # a writer that finds no thread starts a new one
                    if not self._queue:
                        self._thread = None
                        return
        self.flush()  # closed: what `close` left to this thread

    def forget_parent(self) -> None:
        """In a forked child: the inherited queue is the parent's to commit; no thread runs.

        Called by `_fork` before the child goes on. The queue and pending map are
        emptied in place (the exit finalizer holds them); ``_lock`` was held across
        the fork and is free again, the other synchronization objects are new.
        """
        self._queue.clear()
        self.pending.clear()
        self._life = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._leave = False


def _drain(
    queue: collections.deque[Write | Callable[[], None]],
    lock: threading.Lock,
    commit: Commit,
    pending: dict[str, Write],
) -> None:
    """Commit the queued writes in one transaction, then run the actions queued behind them."""
    with lock:
        taken = [queue.popleft() for _ in range(len(queue))]
        if not taken:
            return
        writes = [item for item in taken if isinstance(item, Write)]
        try:
            if writes:
                commit(writes)
        except CacheBackendError as error:  # a cache write lost is a later miss, no more
            warnings.warn(
                f"{len(writes)} cache entries were not stored: {error}",
                BackendUnavailableWarning,
                stacklevel=2,
            )
        finally:
            for write in writes:
                if pending.get(write.key) is write:
                    del pending[write.key]
            for item in taken:
                if not isinstance(item, Write):
                    item()
