"""The ledger's numbered migrations: the table as migration 1 created it and each change since.

A released migration is never edited: a change of schema is a new migration, appended
to `MIGRATIONS` (`schema.migrate` applies the missing ones in order). `schema.ledger_tables`
builds the table at the current schema from the same column and index definitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from langchain_costrouter.metadata import LEVERS

# SQLite only autoincrements an INTEGER PRIMARY KEY, Postgres wants a BIGINT.
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FIRST_INDEXES = (("time", ("time",)), ("task", ("task",)), ("model", ("model",)))
"""Migration 1's indexes, by name suffix and columns."""
REPORT_INDEXES = (("task_time", ("task", "time")), ("ns_time", ("namespace", "time")))
"""Migration 7's indexes: a report of one task or one namespace, over a time range or not,
reads only its rows (the task index of migration 1 is their first column, and goes)."""


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    description: str
    apply: Callable[[sa.Connection, str], None]


def rows_table_v1(metadata: sa.MetaData, prefix: str, *, indexed: bool = True) -> sa.Table:
    """The rows table as migration 1 creates it (``indexed=False``: without its indexes)."""
    name = f"{prefix}ledger"
    table = sa.Table(
        name,
        metadata,
        sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime, nullable=False),  # naive UTC
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("task", sa.String),
        sa.Column("namespace", sa.String),
        sa.Column("model", sa.String, nullable=False),
        sa.Column("provider", sa.String),
        sa.Column("tier", sa.Integer),
        sa.Column("role", sa.String, nullable=False),
        *(
            sa.Column(column, sa.BigInteger, nullable=False)
            for column in (
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "output_tokens",
                "reasoning_tokens",
            )
        ),
        # Money as integer picodollars: exact in every database, sums included.
        sa.Column("cost_picousd", sa.BigInteger),
        sa.Column("price_source", sa.String, nullable=False),
        sa.Column("baseline_cost_picousd", sa.BigInteger),
        sa.Column("reference_model", sa.String),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("accepted", sa.Boolean, nullable=False),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("error", sa.String),
        sa.Column("latency_ms", sa.Float),
        sa.Column("compression_tokens_saved", sa.Integer, nullable=False),
        sa.Column("batch_size", sa.Integer, nullable=False),
        sa.Column("usage_estimated", sa.Boolean, nullable=False),
        sa.UniqueConstraint("run_id", "attempt", name=f"{name}_run_attempt"),
    )
    if indexed:
        add_indexes(table, _FIRST_INDEXES)
    return table


def add_indexes(table: sa.Table, indexes: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    """Index ``table`` on each column list, named after the table and the suffix."""
    for suffix, columns in indexes:
        sa.Index(f"{table.name}_{suffix}", *(table.c[column] for column in columns))


def current_indexes() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The rows table's indexes once every migration ran."""
    kept = tuple(index for index in _FIRST_INDEXES if index[0] != "task")
    return kept + REPORT_INDEXES


def _create_rows_table(conn: sa.Connection, prefix: str) -> None:
    rows_table_v1(sa.MetaData(), prefix).create(conn)


def _add_column(conn: sa.Connection, prefix: str, column: sa.Column[Any], tail: str = "") -> None:
    quote = conn.dialect.identifier_preparer.quote
    column_type = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {quote(f'{prefix}ledger')} ADD COLUMN {quote(column.name)} "
        f"{column_type}{tail}"
    )


def compression_saved_column() -> sa.Column[int]:
    # Nullable: rows written before migration 2, and calls that saved nothing, have none.
    return sa.Column("compression_saved_picousd", sa.BigInteger, nullable=True)


def _add_compression_saved(conn: sa.Connection, prefix: str) -> None:
    """Dollars saved by compression, so reports can net them against the compressor's cost."""
    _add_column(conn, prefix, compression_saved_column())


def output_cap_exceeded_column() -> sa.Column[bool]:
    # Rows written before migration 3 read as False: nobody checked their caps.
    return sa.Column("output_cap_exceeded", sa.Boolean, nullable=False, server_default=sa.false())


def _add_output_cap_exceeded(conn: sa.Connection, prefix: str) -> None:
    """Answers longer than their cap (a server ignored it), so the ledger shows the real bound."""
    _add_column(
        conn, prefix, sa.Column("output_cap_exceeded", sa.Boolean), " NOT NULL DEFAULT FALSE"
    )


def purpose_column() -> sa.Column[str]:
    # Rows written before migration 4 read as production: collect and shadow came later.
    return sa.Column("purpose", sa.String, nullable=False, server_default="production")


def _add_purpose(conn: sa.Connection, prefix: str) -> None:
    """Why a call was made, so reports keep eval and shadow spend apart from production."""
    _add_column(conn, prefix, sa.Column("purpose", sa.String), " NOT NULL DEFAULT 'production'")


def call_money_columns() -> list[sa.Column[int]]:
    # Rows written before migration 5 have none: their baseline is per attempt, and
    # reports read their saving as routing only (see ledger/summary.py).
    levers = [sa.Column(f"saved_{lever}_picousd", sa.BigInteger) for lever in LEVERS]
    return [sa.Column("status_code", sa.Integer), *levers]


def _add_call_money(conn: sa.Connection, prefix: str) -> None:
    """The call's saving by lever on the row holding its one baseline, and HTTP statuses."""
    for column in call_money_columns():
        _add_column(conn, prefix, column)


def model_id_columns() -> list[sa.Column[str]]:
    # Rows written before migration 6 have none: only their deployment's name is known.
    return [sa.Column("request_model", sa.String), sa.Column("response_model", sa.String)]


def _add_model_ids(conn: sa.Connection, prefix: str) -> None:
    """The model id sent and the one that answered: a config change that moves an entry
    to another model leaves the entry's name as it was, and these tell the runs apart."""
    for column in model_id_columns():
        _add_column(conn, prefix, column)


def _index_for_reports(conn: sa.Connection, prefix: str) -> None:
    """Indexes for a report of one task or namespace (bench/ledger_report.py measures them).

    Creating them holds writers of this ledger back until the migration commits (0.45 s
    for 200,000 rows, SQLite or Postgres); they wait, nothing is lost.
    """
    quote = conn.dialect.identifier_preparer.quote
    table = f"{prefix}ledger"
    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {quote(f'{table}_task')}")
    for suffix, columns in REPORT_INDEXES:
        names = ", ".join(quote(column) for column in columns)
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {quote(f'{table}_{suffix}')} ON {quote(table)} ({names})"
        )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create the ledger table", _create_rows_table),
    Migration(2, "add compression_saved_picousd", _add_compression_saved),
    Migration(3, "add output_cap_exceeded", _add_output_cap_exceeded),
    Migration(4, "add purpose", _add_purpose),
    Migration(5, "add status_code and the savings by lever", _add_call_money),
    Migration(6, "add request_model and response_model", _add_model_ids),
    Migration(7, "index task and namespace with time, for reports", _index_for_reports),
)
