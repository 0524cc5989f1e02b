"""SQLAlchemy Core statements of the SQL ledgers: insert and read back rows, and the
column values of rows and calls (the summaries' statements are `summary_sql`'s)."""

from __future__ import annotations

import operator
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.dollars import from_picousd, to_picousd, to_stored_money
from langchain_costrouter.ledger.rows import ROW_FIELDS, LedgerRow
from langchain_costrouter.metadata import LEVERS

_MONEY = {
    "cost_usd": "cost_picousd",
    "baseline_cost_usd": "baseline_cost_picousd",
    "compression_saved_usd": "compression_saved_picousd",
    **{f"saved_{lever}_usd": f"saved_{lever}_picousd" for lever in LEVERS},
}
ROW_COLUMNS = tuple(_MONEY.get(name, name) for name in ROW_FIELDS)
"""The columns `row_values` gives values for, in the order of `LedgerRow`'s fields."""
_ROW_GETTER = operator.attrgetter(*ROW_FIELDS)
_TIME_AT = ROW_FIELDS.index("time")
_MONEY_AT = tuple(ROW_FIELDS.index(name) for name in _MONEY)


def insert_rows(table: sa.Table, dialect: str) -> sa.Insert:
    """An INSERT that skips rows already recorded (same run id and attempt)."""
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["run_id", "attempt"])
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["run_id", "attempt"])
    return sa.insert(table)


def named(values: list[Any]) -> dict[str, Any]:
    """Column values (`row_values`, `call_values`) by column name, for a Core insert."""
    return dict(zip(ROW_COLUMNS, values, strict=True))


def row_values(row: LedgerRow) -> list[Any]:
    """Column values of a row in `ROW_COLUMNS` order: naive UTC time, money in integer
    picodollars. Read with one C-level getter: the ledger's writer runs this per row."""
    values = list(_ROW_GETTER(row))
    values[_TIME_AT] = row.time.astimezone(UTC).replace(tzinfo=None)
    for position in _MONEY_AT:
        values[position] = to_picousd(values[position])
    return values


def item_values(item: LedgerRow | PendingCall) -> list[list[Any]]:
    """Column values of each row of a queued item (`row_values` or `call_values`)."""
    if isinstance(item, PendingCall):
        return call_values(item)
    return [row_values(item)]


def call_values(call: PendingCall) -> list[list[Any]]:
    """Column values of each row of a routed call, in `ROW_COLUMNS` order.

    Equal to `row_values` of its `LedgerRow`s (tests/unit_tests/ledger/test_queries.py
    checks it), without building them: the SQL ledger's writer runs this per call.
    """
    rows = call.values(to_stored_money)
    if rows:
        naive = rows[0][_TIME_AT].replace(tzinfo=None)  # one time per call, already UTC
        for row in rows:
            row[_TIME_AT] = naive
    return rows


def row_from_db(record: sa.RowMapping) -> LedgerRow:
    """A stored row back as a `LedgerRow`."""
    values = {name: record[name] for name in ROW_FIELDS if name not in _MONEY}
    values["time"] = record["time"].replace(tzinfo=UTC)
    for field_name, column in _MONEY.items():
        values[field_name] = from_picousd(record[column])
    return LedgerRow(**values)


def select_rows(table: sa.Table) -> sa.Select[Any]:
    """Every row in the order recorded."""
    return sa.select(table).order_by(table.c.id)
