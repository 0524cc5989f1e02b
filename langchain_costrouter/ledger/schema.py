"""Ledger tables and their explicit, numbered migrations.

Like simonw/llm's logs database: a ``schema_version`` table records which
migrations ran, and `migrate` applies the missing ones in order inside one
transaction that holds a lock (SQLite ``BEGIN IMMEDIATE``, a Postgres advisory
lock), so several processes opening a new ledger at once create it exactly once.
A migration is never edited once released; a change of schema is a new migration.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.metadata import LEVERS

DEFAULT_TABLE_PREFIX = "costrouter_"
# SQLite only autoincrements an INTEGER PRIMARY KEY, Postgres wants a BIGINT.
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@dataclass(frozen=True)
class LedgerTables:
    """The tables of one ledger (one table prefix) at the current schema."""

    rows: sa.Table
    versions: sa.Table


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    description: str
    apply: Callable[[sa.Connection, str], None]


def ledger_tables(prefix: str = DEFAULT_TABLE_PREFIX) -> LedgerTables:
    """Table objects for queries, matching the schema after every migration."""
    metadata = sa.MetaData()
    rows = _rows_table_v1(metadata, prefix)
    rows.append_column(_compression_saved_column())  # migration 2
    rows.append_column(_output_cap_exceeded_column())  # migration 3
    rows.append_column(_purpose_column())  # migration 4
    for column in _call_money_columns():  # migration 5
        rows.append_column(column)
    for model_column in _model_id_columns():  # migration 6
        rows.append_column(model_column)
    return LedgerTables(rows=rows, versions=_versions_table(metadata, prefix))


def migrate(engine: sa.Engine, prefix: str = DEFAULT_TABLE_PREFIX) -> int:
    """Bring the ledger's schema up to date; return its version.

    Raises:
        ConfigError: The database was migrated by a newer version of this package.
    """
    versions = _versions_table(sa.MetaData(), prefix)
    with engine.begin() as conn:
        _lock_migrations(conn, prefix)
        versions.create(conn, checkfirst=True)
        current = conn.execute(sa.select(sa.func.max(versions.c.version))).scalar() or 0
        if current > LATEST_VERSION:
            raise ConfigError(
                f"the ledger at {_shown(engine)} has schema version {current}, "
                f"newer than this langchain-costrouter understands ({LATEST_VERSION}). "
                "Upgrade langchain-costrouter."
            )
        for migration in MIGRATIONS[current:]:
            migration.apply(conn, prefix)
            conn.execute(sa.insert(versions).values(version=migration.version))
    return LATEST_VERSION


def _shown(engine: sa.Engine) -> str:
    """The engine's URL as an error message may show it: no password, in any form."""
    return shown_url(engine.url.render_as_string(hide_password=True))


def _lock_migrations(conn: sa.Connection, prefix: str) -> None:
    # SQLite transactions of a ledger engine begin IMMEDIATE: already exclusive.
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"langchain-costrouter:{prefix}".encode())
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def _versions_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    return sa.Table(
        f"{prefix}schema_version",
        metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "applied_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()
        ),
    )


def _rows_table_v1(metadata: sa.MetaData, prefix: str) -> sa.Table:
    name = f"{prefix}ledger"
    return sa.Table(
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
        sa.Index(f"{name}_time", "time"),
        sa.Index(f"{name}_task", "task"),
        sa.Index(f"{name}_model", "model"),
    )


def _create_rows_table(conn: sa.Connection, prefix: str) -> None:
    _rows_table_v1(sa.MetaData(), prefix).create(conn)


def _compression_saved_column() -> sa.Column[int]:
    # Nullable: rows written before migration 2, and calls that saved nothing, have none.
    return sa.Column("compression_saved_picousd", sa.BigInteger, nullable=True)


def _add_compression_saved(conn: sa.Connection, prefix: str) -> None:
    """Dollars saved by compression, so reports can net them against the compressor's cost."""
    column = _compression_saved_column()
    quote = conn.dialect.identifier_preparer.quote
    column_type = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {quote(f'{prefix}ledger')} ADD COLUMN {quote(column.name)} {column_type}"
    )


def _output_cap_exceeded_column() -> sa.Column[bool]:
    # Rows written before migration 3 read as False: nobody checked their caps.
    return sa.Column("output_cap_exceeded", sa.Boolean, nullable=False, server_default=sa.false())


def _add_output_cap_exceeded(conn: sa.Connection, prefix: str) -> None:
    """Answers longer than their cap (a server ignored it), so the ledger shows the real bound."""
    quote = conn.dialect.identifier_preparer.quote
    column_type = sa.Boolean().compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {quote(f'{prefix}ledger')} ADD COLUMN {quote('output_cap_exceeded')} "
        f"{column_type} NOT NULL DEFAULT FALSE"
    )


def _purpose_column() -> sa.Column[str]:
    # Rows written before migration 4 read as production: collect and shadow came later.
    return sa.Column("purpose", sa.String, nullable=False, server_default="production")


def _add_purpose(conn: sa.Connection, prefix: str) -> None:
    """Why a call was made, so reports keep eval and shadow spend apart from production."""
    quote = conn.dialect.identifier_preparer.quote
    column_type = sa.String().compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {quote(f'{prefix}ledger')} ADD COLUMN {quote('purpose')} "
        f"{column_type} NOT NULL DEFAULT 'production'"
    )


def _call_money_columns() -> list[sa.Column[int]]:
    # Rows written before migration 5 have none: their baseline is per attempt, and
    # reports read their saving as routing only (see ledger/summary.py).
    levers = [sa.Column(f"saved_{lever}_picousd", sa.BigInteger) for lever in LEVERS]
    return [sa.Column("status_code", sa.Integer), *levers]


def _add_call_money(conn: sa.Connection, prefix: str) -> None:
    """The call's saving by lever on the row holding its one baseline, and HTTP statuses."""
    quote = conn.dialect.identifier_preparer.quote
    for column in _call_money_columns():
        column_type = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(f'{prefix}ledger')} ADD COLUMN {quote(column.name)} {column_type}"
        )


def _model_id_columns() -> list[sa.Column[str]]:
    # Rows written before migration 6 have none: only their deployment's name is known.
    return [sa.Column("request_model", sa.String), sa.Column("response_model", sa.String)]


def _add_model_ids(conn: sa.Connection, prefix: str) -> None:
    """The model id sent and the one that answered: a config change that moves an entry
    to another model leaves the entry's name as it was, and these tell the runs apart."""
    quote = conn.dialect.identifier_preparer.quote
    for column in _model_id_columns():
        column_type = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(f'{prefix}ledger')} ADD COLUMN {quote(column.name)} {column_type}"
        )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create the ledger table", _create_rows_table),
    Migration(2, "add compression_saved_picousd", _add_compression_saved),
    Migration(3, "add output_cap_exceeded", _add_output_cap_exceeded),
    Migration(4, "add purpose", _add_purpose),
    Migration(5, "add status_code and the savings by lever", _add_call_money),
    Migration(6, "add request_model and response_model", _add_model_ids),
)
LATEST_VERSION = len(MIGRATIONS)
