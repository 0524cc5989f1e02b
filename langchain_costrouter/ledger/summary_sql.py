"""The SQL ledgers' summary statements: every figure aggregated by the database.

One statement per summary (`summary_query`): the rows the filters keep, grouped by the
summary's key, joined with the calls left out of cost, baseline and savings
(`unpriced_calls`, the rule of `grouping.unpriced_run_ids`); it returns the same
`GroupTotals` the in-memory ledger computes. Written for the planners of both databases
(tests/unit_tests/ledger/test_summary_plans.py and its Postgres twin read their plans):

- An index serves the time, task and namespace filters (`time`; `task` and `namespace`
  with `time`, migration 7; a purpose is mostly ``production``, so its rows are most
  rows), and no grouping may tempt SQLite into walking another index across the whole
  table to spare itself a sort (`_Unindexed`).
- Each row costs a few CASEs, with no function call on the common path (``ELSE 0``,
  not ``ELSE coalesce(0, 0)``), and Postgres counts distinct run ids by their bytes
  (`_Bytewise`).

`calls_query` counts the calls of the kept rows alone, which `_sql_snapshot` uses to add
a report's groups up to its total instead of reading every row a second time.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from langchain_costrouter.ledger.summary import NO_TASK, GroupBy, GroupTotals, RowFilter
from langchain_costrouter.metadata import LEVERS

_ONE: sa.ColumnElement[int] = sa.literal_column("1")
_ZERO: sa.ColumnElement[int] = sa.literal_column("0")
"""Constants written into the statement, not bound: no parameter per use."""
_TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def summary_query(table: sa.Table, by: GroupBy, where: RowFilter) -> sa.Select[Any]:
    """Per-group sums; ``by="all"`` gives one row even over an empty ledger.

    Cost, baseline and savings sum the rows of priced calls only: the rows are joined
    with `unpriced_calls`, and a row whose call is there adds to ``unpriced_calls``
    instead. A row from before the lever split (no levers, a cost and a baseline)
    saves its baseline minus its cost, as routing.
    """
    c = table.c
    key = _group_key(table, by, where)
    unpriced = unpriced_calls(table, where)
    priced = unpriced.c.run_id.is_(None)
    with_levers = sa.and_(priced, carries_levers(table))
    hit = c.cache_hit == sa.true()
    query = sa.select(
        key.label("key"),
        _distinct_runs(c.run_id).label("calls"),
        sa.func.count().label("attempts"),
        *(sa.func.coalesce(sa.func.sum(c[name]), 0).label(name) for name in _TOKEN_COLUMNS),
        _sum_when(hit, c.input_tokens).label("replayed_input_tokens"),
        _sum_when(hit, c.output_tokens).label("replayed_output_tokens"),
        _sum_or_null(priced, c.cost_picousd).label("cost_picousd"),
        _sum_or_null(priced, c.baseline_cost_picousd).label("baseline_picousd"),
        _routing_saved(table, priced, with_levers).label("saved_routing_picousd"),
        *(
            _sum_when(with_levers, c[f"saved_{lever}_picousd"]).label(f"saved_{lever}_picousd")
            for lever in LEVERS[1:]
        ),
        _distinct_runs_when(hit, c.run_id).label("cache_hit_calls"),
        _distinct_runs_when(c.escalated == sa.true(), c.run_id).label("escalated_calls"),
        _sum_when(c.error.is_not(None), _ONE).label("errors"),
        _sum_when(sa.and_(c.cost_picousd.is_(None), c.error.is_(None)), _ONE).label("unpriced"),
        _distinct_runs_when(~priced, c.run_id).label("unpriced_calls"),
        _sum_or_null(~priced, c.cost_picousd).label("unpriced_calls_known_cost_picousd"),
        _sum_when(c.usage_estimated == sa.true(), _ONE).label("estimated"),
        sa.func.coalesce(sa.func.sum(c.compression_tokens_saved), 0).label(
            "compression_tokens_saved"
        ),
        sa.func.sum(c.compression_saved_picousd).label("compression_saved_picousd"),
        _sum_or_null(c.role == "compressor", c.cost_picousd).label("compression_cost_picousd"),
    ).select_from(table.outerjoin(unpriced, c.run_id == unpriced.c.run_id))
    query = query.where(*kept(table, where))
    return query if by == "all" else query.group_by(key)


def unpriced_calls(table: sa.Table, where: RowFilter) -> sa.Subquery:
    """The run ids of the calls whose cost or saving is unknown, among the kept rows.

    A row with no known cost (and no error), or no row carrying the five levers while
    a row lacks a cost or a baseline: `grouping.unpriced_run_ids` in SQL. A call is
    judged on the rows the summary reads, as the in-memory ledger judges it.
    """
    c = table.c
    unknown = sa.and_(c.error.is_(None), c.cost_picousd.is_(None))
    lacking = sa.and_(
        c.error.is_(None), sa.or_(c.cost_picousd.is_(None), c.baseline_cost_picousd.is_(None))
    )
    run_id = _grouped(c.run_id, where)
    query = (
        sa.select(run_id.label("run_id"))
        .where(*kept(table, where))
        .group_by(run_id)
        .having(
            sa.or_(
                _sum_when(unknown, _ONE) > 0,
                sa.and_(_sum_when(carries_levers(table), _ONE) == 0, _sum_when(lacking, _ONE) > 0),
            )
        )
    )
    return query.subquery("unpriced_calls")


def calls_query(table: sa.Table, where: RowFilter) -> sa.Select[Any]:
    """How many calls have a kept row (distinct run ids; on no filter, the run id index
    alone answers it)."""
    return sa.select(_distinct_runs(table.c.run_id)).where(*kept(table, where))


def carries_levers(table: sa.Table) -> sa.ColumnElement[bool]:
    """The row holds its call's saving split by lever, every lever known."""
    return sa.and_(*(table.c[f"saved_{lever}_picousd"].is_not(None) for lever in LEVERS))


def kept(table: sa.Table, where: RowFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions of the summary's filters (stored times are naive UTC)."""
    c = table.c
    conditions = []
    if where.since is not None:
        conditions.append(c.time >= where.since.astimezone(UTC).replace(tzinfo=None))
    if where.until is not None:
        conditions.append(c.time < where.until.astimezone(UTC).replace(tzinfo=None))
    for name, wanted in where.keys().items():
        if wanted is not None:
            conditions.append(c[name] == wanted)
    return conditions


def group_totals(record: sa.RowMapping) -> GroupTotals:
    """One result row of `summary_query` as plain ints (Postgres sums are Decimals)."""
    sums: dict[str, Any] = {
        name: _int_or_none(value) for name, value in record.items() if name != "key"
    }
    return GroupTotals(key=str(record["key"]), **sums)


def _routing_saved(
    table: sa.Table, priced: sa.ColumnElement[bool], with_levers: sa.ColumnElement[bool]
) -> sa.ColumnElement[Any]:
    """The routing lever of the rows carrying levers, and a priced row from before the
    lever split saves its baseline minus its cost."""
    c = table.c
    legacy = sa.and_(priced, c.cost_picousd.is_not(None), c.baseline_cost_picousd.is_not(None))
    saved = sa.case(
        (with_levers, c.saved_routing_picousd),
        (legacy, c.baseline_cost_picousd - c.cost_picousd),
        else_=_ZERO,
    )
    return sa.func.coalesce(sa.func.sum(saved), 0)


def _group_key(table: sa.Table, by: GroupBy, where: RowFilter) -> sa.ColumnElement[Any]:
    if by == "task":
        # Constants are inlined: Postgres must see GROUP BY and SELECT as one expression.
        return sa.func.coalesce(table.c.task, sa.literal_column(f"'{NO_TASK}'"))
    if by == "model":
        return _grouped(table.c.model, where)
    if by == "day":
        # date() exists in both SQLite and Postgres; the stored time is naive UTC.
        return sa.func.date(table.c.time)
    if by == "purpose":
        return table.c.purpose
    return sa.literal_column("'all'")


class _Unindexed(sa.sql.functions.FunctionElement[str]):
    """A NOT NULL text column's own value, as SQLite's planner must not see the column.

    Grouped by ``run_id`` or ``model`` as they are, SQLite walks their index across the
    whole table to spare itself a sort, filtering each row as it goes: a report of the
    last day read every row. As an expression no index matches, it reads the filter's
    rows and sorts them (`_grouped`). Cast back to text: an expression has no affinity,
    and a join of the text column with one gets no automatic index (the join with the
    unpriced calls became a loop over them for every row: 50 s on 200,000 rows instead
    of 1). Postgres plans those with its statistics, and sorts or hashes as it sees fit:
    it gets the column itself.
    """

    type = sa.String()
    inherit_cache = True


@compiles(_Unindexed)
def _plain(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Unindexed, "sqlite")
def _hidden_from_sqlite(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} || '' AS VARCHAR)"


def _grouped(column: sa.Column[Any], where: RowFilter) -> sa.ColumnElement[Any]:
    """What to group ``column`` by: on no filter every row is read anyway, and walking
    the column's index spares SQLite a sort (a tenth of an unfiltered summary); with a
    filter, the filter's index must choose the rows (`_Unindexed`)."""
    return _Unindexed(column) if kept(column.table, where) else column


class _Bytewise(sa.sql.functions.FunctionElement[str]):
    """A run id compared byte by byte, for a count of distinct run ids.

    Postgres sorts the run ids of each distinct count under the database's collation
    (C.UTF-8 or a locale's: slower than bytes); a deterministic collation, as a
    database's default must be, tells two texts apart exactly when their bytes differ,
    so ``COLLATE "C"`` counts the same and takes a sixth off a summary of the whole
    ledger. SQLite compares bytes already.
    """

    type = sa.String()
    inherit_cache = True


@compiles(_Bytewise)
def _as_is(element: _Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Bytewise, "postgresql")
def _collated_c(element: _Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def _distinct_runs(run_ids: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.func.count(sa.distinct(_Bytewise(run_ids)))


def _sum_when(condition: sa.ColumnElement[bool], value: Any) -> sa.ColumnElement[Any]:
    summed = sa.func.sum(sa.case((condition, value), else_=_ZERO))
    return sa.func.coalesce(summed, 0)


def _sum_or_null(condition: sa.ColumnElement[bool], value: Any) -> sa.ColumnElement[Any]:
    """No ELSE: a group without such rows sums to NULL (unknown or none), never $0."""
    return sa.func.sum(sa.case((condition, value)))


def _distinct_runs_when(condition: sa.ColumnElement[bool], run_id: Any) -> sa.ColumnElement[Any]:
    return _distinct_runs(sa.case((condition, run_id)))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
