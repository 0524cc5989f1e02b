"""Batched background writes, so recording a call costs the caller a journal append.

Callers' threads (and asyncio tasks) append each call to this process's journal (one
``write(2)``, see `langchain_costrouter.ledger.spool`) and to a deque. One daemon thread
drains the deque every ``interval`` seconds, or sooner when ``batch_size`` rows wait,
fsyncs the journal and writes each batch in one transaction, then truncates the journal.
A failed write warns once per outage with the count of rows waiting and where: the
journal is then the spool, replayed in order once the database answers (here, or by the
next process that opens the ledger), so a database outage never fails, nor loses, the
user's call. Without a journal (its directory unwritable) rows wait in memory, up to
``max_pending``. What is done while the database is down is `WriterOutage`'s
(`ledger/_outage.py`). `close` (also run at interpreter exit) writes what is left.

Across ``fork()`` each row is written once, by the process that recorded it: the child
forgets the parent's queue and journal as it starts (`forget_parent`, run by `_fork`);
the parent writes its queue as before (not before the fork: the child never sees it, so
a fork need not wait for the database). A multiprocessing worker drops the exit hooks it
inherited and leaves with ``os._exit()``, so `close` is registered again in each one: it
writes its rows before it is reaped. A bare ``os.fork()`` child ending with
``os._exit()`` leaves its rows in its journal, for the next process that flushes.
"""

from __future__ import annotations

import collections
import functools
import threading
import weakref
from collections.abc import Callable, Iterable

from langchain_costrouter import _fork
from langchain_costrouter.ledger import _journal_lines as journal_lines
from langchain_costrouter.ledger import spool
from langchain_costrouter.ledger._journal import Journal
from langchain_costrouter.ledger._outage import Item, WriterOutage, WriteRows


class BatchWriter(WriterOutage):
    """Moves rows from any thread to ``write`` on one background thread."""

    def __init__(
        self,
        write: WriteRows,
        *,
        recoverable: tuple[type[BaseException], ...],
        where: str,
        journal: Journal | None = None,
        interval: float = 0.2,
        batch_size: int = 500,
        max_pending: int = 100_000,
        after_fork: Callable[[], None] | None = None,
    ) -> None:
        """Args:
        write: Stores a batch of rows, and of calls' rows, in one transaction, skipping
            rows already stored (calls reach it unexpanded: see `queries.call_values`).
        recoverable: Exceptions of ``write`` that mean "the store is unavailable".
        where: The store, named in warnings.
        journal: Where calls are written ahead (None: rows wait in memory only).
        interval: Seconds between background drains.
        batch_size: Pending rows that wake the writer early.
        max_pending: Without a journal, calls and rows kept for retry; beyond it the
            oldest are dropped.
        after_fork: Run in a forked child before its first write (drop inherited connections).
        """
        self._write = write
        self._recoverable = recoverable
        self._where = where
        self._journal = journal
        self._interval = interval
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._after_fork = after_fork
        self._queue: collections.deque[tuple[int, Item]] = collections.deque()
        self._retry: list[Item] = []
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failing = False
        self._spooling = False
        self._recover = journal is not None  # other processes' spools, on the first drain
        self._thread: threading.Thread | None = None
        _fork.hold_across_fork(self, "_drain_lock")
        _fork.forget_parent_in_child(self)
        _fork.run_at_worker_exit(self, functools.partial(_close_if_alive, weakref.ref(self)))
        if journal is not None and len(spool.segments(journal.directory)) > 1:
            self._start()  # rows of a process that is gone: write them without waiting for a call

    def submit(self, rows: Iterable[Item]) -> None:
        """Journal and queue rows; never blocks on the database, never raises.

        Once closed, there is no writer thread and no journal: rows that still arrive (a
        call that was running when its router was closed) are written on the caller's
        thread, as `close` writes what was left, rather than queued for nobody.
        """
        if self._thread is None:
            self._start()
        journal = self._journal
        if journal is None:
            self._queue.extend((0, item) for item in rows)
        else:
            self._journal_and_queue(journal, list(rows))
        if self._stop.is_set():
            self.flush()
        elif len(self._queue) >= self._batch_size:
            self._wake.set()

    def flush(self) -> int:
        """Write pending rows on the calling thread; return how many are still pending."""
        with self._drain_lock:
            self._recover = self._journal is not None  # ended processes' spools too
            self._drain()
            if self._spooling and self._journal is not None:
                return self._journal.pending_rows()
            waiting = self._retry + [item for _, item in self._queue]
            return sum(journal_lines.row_count(item) for item in waiting)

    def close(self) -> int:
        """Stop the background thread and write what is left; return rows left unwritten."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join()
        pending = self.flush()
        journal, self._journal = self._journal, None
        if journal is not None:
            if pending:
                self._warn(
                    f"{pending} rows wait in the spool at {journal.directory}: the database "
                    "did not answer before exit. The next process that opens this ledger "
                    f"writes them (e.g. `costrouter report --ledger {self._where}`)."
                )
            journal.close(all_written=not pending)
        return pending

    def _journal_and_queue(self, journal: Journal, items: list[Item]) -> None:
        with journal.lock:  # journal order is queue order
            try:
                last = journal.append(items)
            except OSError as error:
                self._journal = None
                self._warn(
                    f"cannot write the spool at {journal.directory} ({error}); "
                    "rows wait in memory only"
                )
                self._queue.extend((0, item) for item in items)
                return
            self._queue.extend(zip(range(last - len(items) + 1, last + 1), items, strict=True))

    def _start(self) -> None:
        with self._drain_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="costrouter-ledger-writer", daemon=True
            )
            self._thread.start()

    def forget_parent(self) -> None:
        """In a forked child: the inherited rows are the parent's to write; no thread runs.

        Called by `_fork` before anything else runs in the child. ``_drain_lock`` was
        held across the fork (so no write was under way); the other locks may have
        been held by the parent's threads, so all are new.
        """
        self._queue.clear()
        self._retry = []
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._spooling = self._failing = False
        if self._journal is not None:
            self._journal.forget_in_child()
        if self._after_fork is not None:
            self._after_fork()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._drain_lock:
                self._drain()
            self._wake.wait(self._interval)
            self._wake.clear()

    def _drain(self) -> None:
        journal = self._journal
        replaying = self._spooling or self._recover
        if journal is not None and replaying and not self._replay_spool(journal):
            return
        queued = self._take_queued()
        items = self._retry + [item for _, item in queued]
        self._retry = []
        if not items:
            return
        try:
            if journal is not None:
                journal.sync()
            self._write(items)
        except self._recoverable as error:
            if journal is None:
                self._keep_for_retry(items, error)
            else:
                self._start_spooling(journal, error)
        else:
            self._failing = False
            if journal is not None and queued:
                journal.committed(queued[-1][0])

    def _take_queued(self) -> list[tuple[int, Item]]:
        taken = []
        popleft = self._queue.popleft
        for _ in range(len(self._queue)):
            taken.append(popleft())
        return taken


def _close_if_alive(writer: weakref.ref[BatchWriter]) -> None:
    alive = writer()
    if alive is not None:
        alive.close()
