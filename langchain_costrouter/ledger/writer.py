"""Batched background writes, so recording a call costs the caller a list append.

Callers' threads (and asyncio tasks) only append to a deque. One daemon thread
drains it every ``interval`` seconds, or sooner when ``batch_size`` rows wait, and
writes each batch in one transaction. A failed write warns once per outage and
keeps the rows in memory for the next attempt (up to ``max_pending``), so a
database hiccup never fails, nor loses, the user's call. `close` (also run at
interpreter exit) writes what is left.
"""

from __future__ import annotations

import collections
import os
import threading
import warnings
from collections.abc import Callable, Iterable

from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger.rows import LedgerRow, PendingCall, expand

WriteRows = Callable[[list[LedgerRow]], None]


class BatchWriter:
    """Moves rows from any thread to ``write`` on one background thread."""

    def __init__(
        self,
        write: WriteRows,
        *,
        recoverable: tuple[type[BaseException], ...],
        where: str,
        interval: float = 0.2,
        batch_size: int = 500,
        max_pending: int = 100_000,
        after_fork: Callable[[], None] | None = None,
    ) -> None:
        """Args:
        write: Stores a batch of rows in one transaction.
        recoverable: Exceptions of ``write`` that mean "the store is unavailable".
        where: The store, named in warnings.
        interval: Seconds between background drains.
        batch_size: Pending rows that wake the writer early.
        max_pending: Rows kept for retry; beyond it the oldest are dropped, with a warning.
        after_fork: Run in a forked child before its first write (drop inherited connections).
        """
        self._write = write
        self._recoverable = recoverable
        self._where = where
        self._interval = interval
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._after_fork = after_fork
        self._queue: collections.deque[LedgerRow | PendingCall] = collections.deque()
        self._retry: list[LedgerRow] = []
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failing = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, rows: Iterable[LedgerRow | PendingCall]) -> None:
        """Queue rows for the background thread; never blocks on I/O, never raises."""
        if self._pid != os.getpid():
            self._reset_in_child()
        if self._thread is None:
            self._start()
        self._queue.extend(rows)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    def flush(self) -> int:
        """Write pending rows on the calling thread; return how many are still pending."""
        if self._pid != os.getpid():
            self._reset_in_child()
        with self._drain_lock:
            self._drain()
            return len(self._retry) + len(self._queue)

    def close(self) -> int:
        """Stop the background thread and write what is left; return rows left unwritten."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join()
        return self.flush()

    def _start(self) -> None:
        with self._drain_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="costrouter-ledger-writer", daemon=True
            )
            self._thread.start()

    def _reset_in_child(self) -> None:
        # A forked child inherits the parent's pending rows (the parent writes them),
        # locks possibly held by the parent's writer thread, and no thread at all.
        self._pid = os.getpid()
        self._queue.clear()
        self._retry = []
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        if self._after_fork is not None:
            self._after_fork()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._drain_lock:
                self._drain()

    def _drain(self) -> None:
        batch = self._retry + self._take_queued()
        self._retry = []
        if not batch:
            return
        try:
            self._write(batch)
        except self._recoverable as error:
            self._keep_for_retry(batch, error)
        else:
            self._failing = False

    def _take_queued(self) -> list[LedgerRow]:
        """Queued rows, with pending calls expanded here, on the writer's thread."""
        taken = []
        popleft = self._queue.popleft
        for _ in range(len(self._queue)):
            taken.append(popleft())
        return expand(taken)

    def _keep_for_retry(self, batch: list[LedgerRow], error: BaseException) -> None:
        dropped = max(len(batch) - self._max_pending, 0)
        self._retry = batch[dropped:]
        if dropped:
            self._warn(f"dropped the {dropped} oldest unwritten rows (limit {self._max_pending})")
        if not self._failing:
            self._failing = True
            self._warn(
                f"could not write {len(batch)} rows ({type(error).__name__}: {error}); "
                "keeping them in memory and retrying"
            )

    def _warn(self, message: str) -> None:
        warnings.warn(f"Ledger {self._where}: {message}", BackendUnavailableWarning, stacklevel=2)
