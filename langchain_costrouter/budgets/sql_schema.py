"""Tables of the SQL budget store (SQLite or Postgres) and the database's clock.

``accounts`` holds one row per budget, scope and window (money in integer
picodollars); ``leases`` one row per account of each reservation in flight, with the
deadline after which it stops counting; ``rate_buckets`` one row per rate-limited
deployment. Times are seconds since the epoch of the database's clock, so machines
with skewed clocks still agree on when a lease runs out.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import sqlalchemy as sa

from langchain_costrouter.errors import ConfigError

DEFAULT_TABLE_PREFIX = "costrouter_"
_PREFIX_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


@dataclass(frozen=True)
class BudgetTables:
    accounts: sa.Table
    leases: sa.Table
    buckets: sa.Table
    metadata: sa.MetaData


def budget_tables(prefix: str = DEFAULT_TABLE_PREFIX) -> BudgetTables:
    """The store's tables under ``prefix`` (letters, digits and underscores)."""
    if not _PREFIX_PATTERN.match(prefix):
        raise ConfigError(
            f"table prefix {prefix!r} must be letters, digits and underscores", key="prefix"
        )
    metadata = sa.MetaData()
    accounts = sa.Table(
        f"{prefix}budget_accounts",
        metadata,
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("limit_pico", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Index(f"{prefix}budget_accounts_by_expiry", "expires_at"),
    )
    leases = sa.Table(
        f"{prefix}budget_leases",
        metadata,
        sa.Column("reservation", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Index(f"{prefix}budget_leases_by_key", "key", "expires_at"),
    )
    buckets = sa.Table(
        f"{prefix}rate_buckets",
        metadata,
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("requests", sa.Float, nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    return BudgetTables(accounts, leases, buckets, metadata)


def create_tables(conn: sa.Connection, tables: BudgetTables) -> None:
    """Create missing tables; concurrent creators wait for each other (no race)."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"langchain-costrouter:budgets:{tables.accounts.name}".encode())
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    tables.metadata.create_all(conn, checkfirst=True)


def database_now(dialect: str) -> sa.ColumnElement[float]:
    """The database's clock in seconds since the epoch, as a SQL expression."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return (sa.func.julianday("now") - 2440587.5) * 86400.0
