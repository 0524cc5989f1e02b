"""SQLite: a batch of ledger rows in one ``INSERT ... VALUES (...), (...)`` statement.

SQLAlchemy runs a list of rows as ``executemany``: it builds and converts each row's
parameters on its own (a third of the writer's time per row), and SQLite's driver then
steps once per row, letting go of the GIL at every step. The writer is a background
thread; under load each hand-over means winning the GIL back from the threads serving
calls (measured at 64 calls in flight: a drain of 100 rows took 115 ms of wall time
for 4 ms of CPU). Here a batch is one statement per `ROWS_PER_STATEMENT` rows, one
step each, with each column's value converted by SQLAlchemy's own bind processor for
the dialect, so the database holds exactly what the Core statement would have written
(tests/unit_tests/ledger/test_bulk.py compares the two).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from langchain_costrouter._statements import multi_row, power_of_two_chunks

ROWS_PER_STATEMENT = 64
"""Rows of the largest statement: about 2,400 parameters, far below SQLite's 32,766.
Smaller batches go in powers of two (`_statements`), so few statement texts are prepared."""


class BulkInsert:
    """Inserts rows given as value lists (`queries.row_values`), skipping rows recorded."""

    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> None:
        """``columns``: the columns of every row's values, in order."""
        quote = dialect.identifier_preparer.quote
        types = [table.c[name].type for name in columns]
        processors = (column.dialect_impl(dialect).bind_processor(dialect) for column in types)
        self._converted: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (position, _faster(types[position], process))
            for position, process in enumerate(processors)
            if process is not None
        )
        """The columns whose values SQLAlchemy converts for the driver (a time, a flag)."""
        self._head = (
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in columns)}) VALUES "
        )
        self._row = f"({', '.join('?' * len(columns))})"
        self._tail = " ON CONFLICT (run_id, attempt) DO NOTHING"

    def execute(self, conn: sa.Connection, rows: Sequence[list[Any]]) -> None:
        """Insert ``rows`` (inside the caller's transaction; their lists are converted)."""
        for chunk in power_of_two_chunks(rows, ROWS_PER_STATEMENT):
            statement = multi_row(self._head, self._row, len(chunk), self._tail)
            conn.exec_driver_sql(statement, tuple(self._values(chunk)))

    def _values(self, rows: Sequence[list[Any]]) -> list[Any]:
        values: list[Any] = []
        converted = self._converted
        for row in rows:
            for position, process in converted:
                if (value := row[position]) is not None:
                    row[position] = process(value)
            values.extend(row)
        return values


def _faster(kind: sa.types.TypeEngine[Any], process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The same conversion as SQLAlchemy's bind processor, cheaper where it can be.

    A flag keeps the processor's answers for True and False (five of a row's seven
    conversions become a lookup in C); a naive time is written by ``isoformat`` when
    that gives the processor's own text (SQLite's ``DATETIME`` does, in C rather than
    a ``%`` format of seven fields), checked here on two times rather than assumed.
    """
    if isinstance(kind, sa.Boolean):
        return _KnownFlags(process).__getitem__
    if isinstance(kind, sa.DateTime) and all(
        process(sample) == _iso_text(sample) for sample in _SAMPLE_TIMES
    ):
        return functools.partial(_naive_iso_text, process)
    return process


_SAMPLE_TIMES = (datetime(2026, 1, 2, 3, 4, 5), datetime(987, 6, 5, 4, 3, 2, 1))


def _iso_text(when: datetime) -> str:
    return when.isoformat(" ", "microseconds")


def _naive_iso_text(process: Callable[[Any], Any], when: Any) -> Any:
    if type(when) is datetime and when.tzinfo is None:  # what the ledger writes
        return when.isoformat(" ", "microseconds")
    return process(when)


class _KnownFlags(dict[Any, Any]):
    """A flag processor's answers by value; what it has no answer for, it asks for."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        super().__init__({flag: process(flag) for flag in (False, True)})
        self._process = process

    def __missing__(self, value: Any) -> Any:  # anything but a bool: SQLAlchemy decides
        return self._process(value)
