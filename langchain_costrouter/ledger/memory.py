"""`InMemoryLedger`: rows in a list, for tests, notebooks and short scripts."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from langchain_costrouter.ledger.base import Ledger
from langchain_costrouter.ledger.call_rows import PendingCall, expand
from langchain_costrouter.ledger.grouping import summarise_rows
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.summary import GroupBy, RowFilter, Summary
from langchain_costrouter.metadata import CostRouterMetadata


class InMemoryLedger(Ledger):
    """Keeps rows in memory, lost when the process ends. Thread-safe."""

    def __init__(self) -> None:
        self.url = "memory://"
        self._rows: list[LedgerRow] = []
        self._keys: set[tuple[str, int]] = set()
        self._pending: list[LedgerRow | PendingCall] = []
        self._lock = threading.Lock()

    def add(self, rows: Iterable[LedgerRow]) -> None:
        """Append rows, skipping any (run id, attempt) recorded already."""
        with self._lock:
            self._pending.extend(rows)

    def add_call(
        self,
        meta: CostRouterMetadata,
        *,
        run_id: str,
        when: datetime,
        reference_model: str | None = None,
    ) -> None:
        """Queue the call; its rows are built when they are first read."""
        with self._lock:
            self._pending.append(PendingCall(meta, run_id, when, reference_model))

    def _summarise(self, by: GroupBy, where: RowFilter) -> Summary:
        """Spend per group, aggregated in Python."""
        return summarise_rows(self.rows(), by, where)

    def rows(self) -> list[LedgerRow]:
        """A copy of the rows in the order added, taken under the lock: the ledger's
        snapshot too (`Ledger.snapshot`), which rows added later do not change."""
        with self._lock:
            self._settle()
            return list(self._rows)

    def _settle(self) -> None:
        """Move pending rows and calls into the list, keeping each (run, attempt) once."""
        pending, self._pending = self._pending, []
        for row in expand(pending):
            key = (row.run_id, row.attempt)
            if key not in self._keys:
                self._keys.add(key)
                self._rows.append(row)
