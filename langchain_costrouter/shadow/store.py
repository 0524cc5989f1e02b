"""Shadow samples and policy promises, in tables of their own in the ledger's database.

The tables (``{prefix}shadow_samples``, ``{prefix}shadow_promises``) have their own
numbered migrations and version table (``{prefix}shadow_schema_version``), so the
ledger's schema and this one change independently and never collide. Migrations run
under a lock (SQLite ``BEGIN IMMEDIATE``, a Postgres advisory lock), so processes
opening a new database at once create the tables once. Money is integer picodollars.
``memory://`` keeps the tables in this process (tests, notebooks).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.engine import create_ledger_engine
from langchain_costrouter.ledger.schema import DEFAULT_TABLE_PREFIX
from langchain_costrouter.shadow.rows import (
    Promise,
    SampleRow,
    promise_values,
    row_from,
    sample_values,
)

MEMORY_URL = "memory://"
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _samples_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """The samples table as it is now: version 1's columns and those added since (the
    log-probability summaries by migration 2, the prompt's digest by migration 3)."""
    table = _samples_table_v1(metadata, prefix)
    for column in _LOGPROB_COLUMNS:
        table.append_column(sa.Column(column, sa.Text))
    table.append_column(sa.Column(_DIGEST_COLUMN, sa.String))
    return table


_LOGPROB_COLUMNS = ("served_logprobs", "reference_logprobs")
"""JSON log-probability summaries of both answers (`langchain_costrouter.logprobs`)."""
_DIGEST_COLUMN = "prompt_digest"
"""Which prompt a sample asked (`SampleRow.prompt_digest`); NULL in rows stored before."""


def _samples_table_v1(metadata: sa.MetaData, prefix: str) -> sa.Table:
    name = f"{prefix}shadow_samples"
    money = ("served_cost_picousd", "reference_cost_picousd", "judge_cost_picousd")
    return sa.Table(
        name,
        metadata,
        sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime, nullable=False),  # naive UTC
        sa.Column("run_id", sa.String, nullable=False, unique=True),
        sa.Column("task", sa.String, nullable=False),
        sa.Column("namespace", sa.String, nullable=False),
        sa.Column("policy", sa.String, nullable=False),  # the route's version
        sa.Column("served_by", sa.String, nullable=False),
        sa.Column("served_tier", sa.Integer),
        sa.Column("reference_model", sa.String, nullable=False),
        sa.Column("scorer", sa.String, nullable=False),
        sa.Column("score", sa.Float),  # None: the evaluation failed (see error)
        sa.Column("error", sa.Text),
        *(sa.Column(column, sa.BigInteger) for column in money),
        sa.Column("messages", sa.Text),  # JSON; texts only where prompts are kept
        sa.Column("served_text", sa.Text),
        sa.Column("reference_text", sa.Text),
        sa.Index(f"{name}_task_time", "task", "time"),
    )


def _promises_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    return sa.Table(
        f"{prefix}shadow_promises",
        metadata,
        sa.Column("policy", sa.String, primary_key=True),
        sa.Column("task", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("quality", sa.Float, nullable=False),
        sa.Column("low", sa.Float, nullable=False),
        sa.Column("high", sa.Float),
        sa.Column("source", sa.String, nullable=False),
    )


def _versions_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    return sa.Table(
        f"{prefix}shadow_schema_version",
        metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    )


def _create_tables(conn: sa.Connection, prefix: str) -> None:
    metadata = sa.MetaData()
    _samples_table_v1(metadata, prefix)
    _promises_table(metadata, prefix)
    metadata.create_all(conn)


def _add_logprob_columns(conn: sa.Connection, prefix: str) -> None:
    table = conn.dialect.identifier_preparer.quote(f"{prefix}shadow_samples")
    for column in _LOGPROB_COLUMNS:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} TEXT"))


def _add_prompt_digest(conn: sa.Connection, prefix: str) -> None:
    table = conn.dialect.identifier_preparer.quote(f"{prefix}shadow_samples")
    conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {_DIGEST_COLUMN} VARCHAR"))


MIGRATIONS: tuple[Callable[[sa.Connection, str], None], ...] = (
    _create_tables,
    _add_logprob_columns,
    _add_prompt_digest,
)
"""Migration N is ``MIGRATIONS[N - 1]``; never edited once released, only appended to."""


class ShadowStore:
    """The shadow tables of one database (one table prefix)."""

    def __init__(self, url: str, *, table_prefix: str | None = None) -> None:
        table_prefix = DEFAULT_TABLE_PREFIX if table_prefix is None else table_prefix
        self.engine = _engine(url)
        self.url = shown_url(self.engine.url.render_as_string(hide_password=True))
        metadata = sa.MetaData()
        self.samples = _samples_table(metadata, table_prefix)
        self.promises = _promises_table(metadata, table_prefix)
        self._lock = threading.Lock()  # memory:// shares one connection between threads
        try:
            _migrate(self.engine, table_prefix)
        except BaseException:  # e.g. tables newer than this version: nobody holds the engine
            self.engine.dispose()
            raise

    def add_sample(self, row: SampleRow) -> None:
        """Store one evaluated sample (a sample already stored is kept once)."""
        with self._lock, self.engine.begin() as conn:
            exists = sa.select(self.samples.c.id).where(self.samples.c.run_id == row.run_id)
            if conn.execute(exists).first() is None:
                conn.execute(sa.insert(self.samples).values(**sample_values(row)))

    def record_promises(self, promises: Sequence[Promise]) -> None:
        """Remember what each task's policy promised (rewritten when recorded again)."""
        table = self.promises
        with self._lock, self.engine.begin() as conn:
            for promise in promises:
                key = (table.c.policy == promise.policy) & (table.c.task == promise.task)
                conn.execute(sa.delete(table).where(key))
                conn.execute(sa.insert(table).values(**promise_values(promise)))

    def read_samples(
        self, *, since: datetime | None = None, task: str | None = None
    ) -> list[SampleRow]:
        """Samples from ``since`` on (naive UTC), of ``task`` when given, oldest first."""
        table = self.samples
        query = sa.select(table).order_by(table.c.time, table.c.id)
        if since is not None:
            query = query.where(table.c.time >= since)
        if task is not None:
            query = query.where(table.c.task == task)
        with self._lock, self.engine.connect() as conn:
            return [row_from(dict(row._mapping)) for row in conn.execute(query)]

    def read_promises(self) -> dict[tuple[str, str], Promise]:
        """(policy, task) -> promise."""
        with self._lock, self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.promises)).mappings()
            return {(r["policy"], r["task"]): Promise(**dict(r)) for r in rows}

    def prune(self, now: datetime, prompt_days: float, row_days: float | None) -> None:
        """Erase stored texts older than ``prompt_days``; delete samples older than ``row_days``.

        A sample's prompt digest stays with its score: it is not the prompt, and drift
        needs it to count the old copies of a prompt once.
        """
        table = self.samples
        texts = {"messages": None, "served_text": None, "reference_text": None}
        with self._lock, self.engine.begin() as conn:
            old_texts = table.c.time < now - timedelta(days=prompt_days)
            conn.execute(sa.update(table).where(old_texts).values(**texts))
            if row_days is not None:
                conn.execute(sa.delete(table).where(table.c.time < now - timedelta(days=row_days)))

    def close(self) -> None:
        self.engine.dispose()


def samples_table_exists(url: str, *, table_prefix: str | None = None) -> bool:
    """Whether ``url`` holds shadow samples, looked up without creating anything.

    Opening a `ShadowStore` creates its tables (the router's writer needs them); a
    command that only reads asks this first, so pointed at the wrong database it says
    so instead of creating empty tables there. Raises SQLAlchemy's error when the
    database cannot be reached.
    """
    prefix = DEFAULT_TABLE_PREFIX if table_prefix is None else table_prefix
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).has_table(f"{prefix}shadow_samples")
    finally:
        engine.dispose()


def _engine(url: str) -> sa.Engine:
    if url == MEMORY_URL:
        return sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    return create_ledger_engine(url)


def _migrate(engine: sa.Engine, prefix: str) -> None:
    versions = _versions_table(sa.MetaData(), prefix)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            key = zlib.crc32(f"langchain-costrouter-shadow:{prefix}".encode())
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        versions.create(conn, checkfirst=True)
        current = conn.execute(sa.select(sa.func.max(versions.c.version))).scalar() or 0
        if current > len(MIGRATIONS):
            raise ConfigError(
                f"the shadow tables at {engine.url.render_as_string()} have schema version "
                f"{current}, newer than this langchain-costrouter knows ({len(MIGRATIONS)}). "
                "Upgrade langchain-costrouter."
            )
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            migration(conn, prefix)
            conn.execute(sa.insert(versions).values(version=version))
