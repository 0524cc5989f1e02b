"""SQLAlchemy Core statements of the SQL ledgers: insert, read back, summarise.

The summary aggregates in the database (one GROUP BY, portable between SQLite and
Postgres) and returns the same `GroupTotals` the in-memory ledger computes.
"""

from __future__ import annotations

import operator
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.dollars import from_picousd, to_picousd, to_stored_money
from langchain_costrouter.ledger.rows import ROW_FIELDS, LedgerRow
from langchain_costrouter.ledger.summary import NO_TASK, GroupBy, GroupTotals, RowFilter
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
_TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


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


def summary_query(table: sa.Table, by: GroupBy, where: RowFilter) -> sa.Select[Any]:
    """Per-group sums; ``by="all"`` gives one row even over an empty ledger.

    Cost, baseline and savings sum the rows of priced calls only: the rows are joined
    with `unpriced_calls` (the rule of `grouping.unpriced_run_ids`), and a row whose
    call is there adds to ``unpriced_calls`` instead.
    """
    c = table.c
    key = _group_key(table, by)
    unpriced = unpriced_calls(table, where)
    priced = unpriced.c.run_id.is_(None)
    levers = _carries_levers(table)
    # A row from before the lever split: its whole saving reads as routing.
    legacy = sa.and_(~levers, c.cost_picousd.is_not(None), c.baseline_cost_picousd.is_not(None))
    query = sa.select(
        key.label("key"),
        sa.func.count(sa.distinct(c.run_id)).label("calls"),
        sa.func.count().label("attempts"),
        *(sa.func.coalesce(sa.func.sum(c[name]), 0).label(name) for name in _TOKEN_COLUMNS),
        _sum_when(c.cache_hit == sa.true(), c.input_tokens).label("replayed_input_tokens"),
        _sum_when(c.cache_hit == sa.true(), c.output_tokens).label("replayed_output_tokens"),
        _sum_or_null(priced, c.cost_picousd).label("cost_picousd"),
        _sum_or_null(priced, c.baseline_cost_picousd).label("baseline_picousd"),
        _sum_when(
            sa.and_(priced, legacy),
            c.baseline_cost_picousd - c.cost_picousd,
            else_=sa.case((sa.and_(priced, levers), c.saved_routing_picousd)),
        ).label("saved_routing_picousd"),
        *(
            _sum_when(sa.and_(priced, levers), c[f"saved_{lever}_picousd"]).label(
                f"saved_{lever}_picousd"
            )
            for lever in LEVERS[1:]
        ),
        _distinct_runs_when(c.cache_hit == sa.true(), c.run_id).label("cache_hit_calls"),
        _distinct_runs_when(c.escalated == sa.true(), c.run_id).label("escalated_calls"),
        _sum_when(c.error.is_not(None), 1).label("errors"),
        _sum_when(sa.and_(c.cost_picousd.is_(None), c.error.is_(None)), 1).label("unpriced"),
        _distinct_runs_when(~priced, c.run_id).label("unpriced_calls"),
        _sum_or_null(~priced, c.cost_picousd).label("unpriced_calls_known_cost_picousd"),
        _sum_when(c.usage_estimated == sa.true(), 1).label("estimated"),
        sa.func.coalesce(sa.func.sum(c.compression_tokens_saved), 0).label(
            "compression_tokens_saved"
        ),
        sa.func.sum(c.compression_saved_picousd).label("compression_saved_picousd"),
        _sum_or_null(c.role == "compressor", c.cost_picousd).label("compression_cost_picousd"),
    ).select_from(table.outerjoin(unpriced, c.run_id == unpriced.c.run_id))
    query = _filtered(query, table, where)
    return query if by == "all" else query.group_by(key)


def unpriced_calls(table: sa.Table, where: RowFilter) -> sa.Subquery:
    """The run ids of the calls whose cost or saving is unknown, among the kept rows.

    A row with no known cost (and no error), or no row carrying the five levers while
    a row lacks a cost or a baseline: `grouping.unpriced_run_ids` in SQL.
    """
    c = table.c
    unknown = sa.and_(c.error.is_(None), c.cost_picousd.is_(None))
    lacking = sa.and_(
        c.error.is_(None), sa.or_(c.cost_picousd.is_(None), c.baseline_cost_picousd.is_(None))
    )
    query = (
        sa.select(c.run_id)
        .group_by(c.run_id)
        .having(
            sa.or_(
                _sum_when(unknown, 1) > 0,
                sa.and_(_sum_when(_carries_levers(table), 1) == 0, _sum_when(lacking, 1) > 0),
            )
        )
    )
    return _filtered(query, table, where).subquery("unpriced_calls")


def _carries_levers(table: sa.Table) -> sa.ColumnElement[bool]:
    """The row holds its call's saving split by lever, every lever known."""
    return sa.and_(*(table.c[f"saved_{lever}_picousd"].is_not(None) for lever in LEVERS))


def _filtered(query: sa.Select[Any], table: sa.Table, where: RowFilter) -> sa.Select[Any]:
    """The summary's filters, on the summary and on `unpriced_calls` alike: a call is
    judged on the rows the summary reads, as the in-memory ledger judges it."""
    c = table.c
    if where.since is not None:
        query = query.where(c.time >= where.since.astimezone(UTC).replace(tzinfo=None))
    if where.until is not None:
        query = query.where(c.time < where.until.astimezone(UTC).replace(tzinfo=None))
    for name, wanted in where.keys().items():
        if wanted is not None:
            query = query.where(c[name] == wanted)
    return query


def group_totals(record: sa.RowMapping) -> GroupTotals:
    """One result row of `summary_query` as plain ints (Postgres sums are Decimals)."""
    sums: dict[str, Any] = {
        name: _int_or_none(value) for name, value in record.items() if name != "key"
    }
    return GroupTotals(key=str(record["key"]), **sums)


def _group_key(table: sa.Table, by: GroupBy) -> sa.ColumnElement[Any]:
    if by == "task":
        # Constants are inlined: Postgres must see GROUP BY and SELECT as one expression.
        return sa.func.coalesce(table.c.task, sa.literal_column(f"'{NO_TASK}'"))
    if by == "model":
        return table.c.model
    if by == "day":
        # date() exists in both SQLite and Postgres; the stored time is naive UTC.
        return sa.func.date(table.c.time)
    if by == "purpose":
        return table.c.purpose
    return sa.literal_column("'all'")


def _sum_when(
    condition: sa.ColumnElement[bool], value: Any, else_: Any = 0
) -> sa.ColumnElement[Any]:
    summed = sa.func.sum(sa.case((condition, value), else_=sa.func.coalesce(else_, 0)))
    return sa.func.coalesce(summed, 0)


def _sum_or_null(condition: sa.ColumnElement[bool], value: Any) -> sa.ColumnElement[Any]:
    """No ELSE: a group without such rows sums to NULL (unknown or none), never $0."""
    return sa.func.sum(sa.case((condition, value)))


def _distinct_runs_when(condition: sa.ColumnElement[bool], run_id: Any) -> sa.ColumnElement[Any]:
    return sa.func.count(sa.distinct(sa.case((condition, run_id))))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
