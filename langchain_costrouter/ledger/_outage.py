"""`BatchWriter` while its store is down: the spool, and the rows kept for a retry.

With a journal, a refused write turns the journal into the spool (`_start_spooling`):
the queue is dropped, as every row in it is journaled, and each drain first replays the
sealed spool in order, this process's then those of ended processes (`_replay_spool`),
until the database answers again. Without one, the refused batch waits in memory for
the next drain, the oldest rows dropped past ``max_pending`` (`_keep_for_retry`). Either
warns once per outage (`_warn`), with the count of rows waiting and where.
"""

from __future__ import annotations

import collections
import logging
import warnings
from collections.abc import Callable, Sequence

from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import _journal_lines as journal_lines
from langchain_costrouter.ledger import spool
from langchain_costrouter.ledger._journal import Journal
from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.rows import LedgerRow

Item = LedgerRow | PendingCall
WriteRows = Callable[[Sequence[Item]], None]
_log = logging.getLogger("langchain_costrouter.ledger.writer")  # the name users filter on


class WriterOutage:
    """The outage handling of `writer.BatchWriter`, which sets these; not used alone."""

    _write: WriteRows
    _recoverable: tuple[type[BaseException], ...]
    _where: str
    _batch_size: int
    _max_pending: int
    _queue: collections.deque[tuple[int, Item]]
    _retry: list[Item]
    _failing: bool
    _spooling: bool
    _recover: bool

    def _replay_spool(self, journal: Journal) -> bool:
        """Write spooled rows in order: ours, then those of processes that are gone.

        Returns False while the database is still down (the queue is dropped: every
        item in it is in the journal, sealed and replayed once the database answers).
        """
        write, size = self._write, self._batch_size
        try:
            written = journal.replay_sealed(write, size)
            sealed = journal.seal() if self._spooling else None
            written += journal.replay_sealed(write, size)
            orphans, unreadable = spool.replay_orphans(journal.directory, write, size)
        except self._recoverable as error:
            if not self._spooling:
                self._start_spooling(journal, error)
            self._queue.clear()
            return False
        self._recover = False
        if unreadable:
            self._warn(f"skipped {unreadable} unreadable lines of the spool at {journal.directory}")
        if sealed is not None:
            while self._queue and self._queue[0][0] <= sealed:
                self._queue.popleft()
            journal.stop_spooling()
            self._spooling = self._failing = False
            _log.warning("Ledger %s answers again: wrote %d spooled rows", self._where, written)
        if orphans:
            _log.warning(
                "Ledger %s: wrote %d rows spooled by ended processes", self._where, orphans
            )
        return True

    def _start_spooling(self, journal: Journal, error: BaseException) -> None:
        self._spooling = True
        self._queue.clear()  # journaled: the spool has them
        journal.start_spooling()
        if not self._failing:
            self._failing = True
            waiting = journal.pending_rows()
            self._warn(
                f"the database refused a write ({type(error).__name__}: {error}); {waiting} rows "
                f"wait in the spool at {journal.directory}, written in order when the database "
                "answers, by this process or the next one that opens this ledger. Nothing is "
                "lost; check the database if this lasts."
            )

    def _keep_for_retry(self, batch: list[Item], error: BaseException) -> None:
        dropped = max(len(batch) - self._max_pending, 0)
        self._retry = batch[dropped:]
        if dropped:
            lost = sum(journal_lines.row_count(item) for item in batch[:dropped])
            self._warn(f"dropped the {lost} oldest unwritten rows (limit {self._max_pending})")
        if not self._failing:
            self._failing = True
            rows = sum(journal_lines.row_count(item) for item in batch)
            self._warn(
                f"could not write {rows} rows ({type(error).__name__}: {error}); "
                "keeping them in memory and retrying"
            )

    def _warn(self, message: str) -> None:
        warnings.warn(f"Ledger {self._where}: {message}", BackendUnavailableWarning, stacklevel=2)
