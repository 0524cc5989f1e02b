"""The `Ledger` interface every store implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType

from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.grouping import summarise_rows
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.summary import GroupBy, RowFilter, Summary
from langchain_costrouter.metadata import CostRouterMetadata


class Summarised(ABC):
    """Something whose rows can be summarised: a `Ledger`, or one `LedgerSnapshot` of it."""

    def summary(
        self,
        by: GroupBy = "task",
        since: datetime | str | None = None,
        *,
        until: datetime | str | None = None,
        namespace: str | None = None,
        task: str | None = None,
        purpose: str | None = None,
    ) -> Summary:
        """Spend per ``by`` group (``"all"`` for totals) of the rows the filters keep.

        Rows from ``since`` (ISO, UTC) on and before ``until``; ``namespace``, ``task``
        and ``purpose`` keep only rows with that value.

        A ledger flushes its pending rows first, so a summary sees every row added
        before it; a snapshot summarises the rows it was taken with.
        """
        where = RowFilter.of(since, until, namespace=namespace, task=task, purpose=purpose)
        return self._summarise(by, where)

    @abstractmethod
    def _summarise(self, by: GroupBy, where: RowFilter) -> Summary:
        """`summary` once its filters are parsed (a ledger flushes, then aggregates)."""


class LedgerSnapshot(Summarised):
    """A ledger at one moment: every summary of it reads the same rows.

    A report runs several summaries (its groups, its total, a page's days and tasks);
    read one by one from a ledger that is being written, a call recorded in between
    would be in the total and missing from the groups. Read from one snapshot
    (`Ledger.snapshot`), they add up.
    """


class RowsSnapshot(LedgerSnapshot):
    """A snapshot that is a copy of the rows, aggregated in Python (`grouping`)."""

    def __init__(self, rows: Sequence[LedgerRow]) -> None:
        self._rows = rows

    def _summarise(self, by: GroupBy, where: RowFilter) -> Summary:
        return summarise_rows(self._rows, by, where)


class Ledger(Summarised):
    """Where rows go: one per provider attempt and one per cache hit.

    `add` is called on the user's call path, so it never blocks on I/O and never
    raises: stores that write to a database hand rows to a background writer.
    """

    url: str

    @abstractmethod
    def add(self, rows: Iterable[LedgerRow]) -> None:
        """Record rows; a row already recorded (same run id and attempt) is kept once."""

    def add_call(
        self,
        meta: CostRouterMetadata,
        *,
        run_id: str,
        when: datetime,
        reference_model: str | None = None,
    ) -> None:
        """Record a routed call's attempts; stores may build the rows off the call path."""
        self.add(PendingCall(meta, run_id, when, reference_model).rows())

    def flush(self) -> int:
        """Write what is pending now; return how many rows could not be written yet."""
        return 0

    def pending_rows(self) -> int:
        """Rows recorded but not yet in the store, after a write attempt (0: none)."""
        return self.flush()

    def close(self) -> None:  # stores without resources need no close
        """Flush and release the store's resources."""

    @abstractmethod
    def rows(self) -> list[LedgerRow]:
        """Every row in the order recorded (after a flush)."""

    @contextmanager
    def snapshot(self) -> Iterator[LedgerSnapshot]:
        """The ledger as it is now, for several summaries that must add up.

        Pending rows are flushed first; rows added while the snapshot is open are not in
        it. Here a copy of `rows` (a store that has only those); the SQL ledger reads in
        one read-only transaction instead (`SQLLedger.snapshot`).
        """
        yield RowsSnapshot(self.rows())

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
