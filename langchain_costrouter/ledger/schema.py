"""Ledger tables and their explicit, numbered migrations (`_migrations`).

Like simonw/llm's logs database: a ``schema_version`` table records which
migrations ran, and `migrate` applies the missing ones in order inside one
transaction that holds a lock (SQLite ``BEGIN IMMEDIATE``, a Postgres advisory
lock), so several processes opening a new ledger at once create it exactly once.
A migration is never edited once released; a change of schema is a new migration.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import sqlalchemy as sa

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger._migrations import (
    MIGRATIONS,
    add_indexes,
    call_money_columns,
    compression_saved_column,
    current_indexes,
    model_id_columns,
    output_cap_exceeded_column,
    purpose_column,
    rows_table_v1,
)

DEFAULT_TABLE_PREFIX = "costrouter_"


@dataclass(frozen=True)
class LedgerTables:
    """The tables of one ledger (one table prefix) at the current schema."""

    rows: sa.Table
    versions: sa.Table


def ledger_tables(prefix: str = DEFAULT_TABLE_PREFIX) -> LedgerTables:
    """Table objects for queries, matching the schema after every migration."""
    metadata = sa.MetaData()
    rows = rows_table_v1(metadata, prefix, indexed=False)
    rows.append_column(compression_saved_column())  # migration 2
    rows.append_column(output_cap_exceeded_column())  # migration 3
    rows.append_column(purpose_column())  # migration 4
    for column in call_money_columns():  # migration 5
        rows.append_column(column)
    for model_column in model_id_columns():  # migration 6
        rows.append_column(model_column)
    add_indexes(rows, current_indexes())  # migrations 1 and 7
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


LATEST_VERSION = len(MIGRATIONS)
