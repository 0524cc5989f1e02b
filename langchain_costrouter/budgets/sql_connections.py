"""Connections of the SQL budget store: sync and async (psycopg), per database.

Work is written once, as a function of a sync `sqlalchemy.Connection`: run directly,
through the async engine's ``run_sync`` on Postgres (psycopg's async driver, so the
event loop never blocks on the network), or in a worker thread on SQLite (whose waits
are for a file lock). A connection that went stale (the server restarted) is retried
once; the retried operation can at worst count a reservation or a cost twice, which
errs on the side of the budget. So is a deadlock Postgres broke by rolling us back.

Postgres sessions commit with ``synchronous_commit=off`` unless the store is durable:
a commit then returns before its WAL record is flushed to disk (6 ms per commit on a
busy disk, against 0.3 ms). A crash of the database server, not of a client, can lose
the last fraction of a second of reservations and settlements; the database stays
consistent. ``?durable=true`` on the store URL keeps every commit flushed.

Postgres connections are pooled in autocommit mode, the mode of the one-statement
reservation and settlement (a round trip each, no BEGIN and COMMIT; a reservation on
several accounts is one pipelined transaction, budgets/sql_driver.py); work of several
statements switches its connection to READ COMMITTED for as long as it holds it.

The async engines, one per event loop, are disposed of as their loop ends or with the
store (`close`), on their loop when it can run it, else on a private loop, as psycopg
closes a connection without waiting on any loop (budgets/loop_clients.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from langchain_costrouter._fork import ForkGate, hold_across_fork
from langchain_costrouter._secrets import shown_url
from langchain_costrouter.budgets.loop_clients import LoopClients, run_aside
from langchain_costrouter.budgets.sql_schema import BudgetTables, create_tables
from langchain_costrouter.errors import BudgetStoreError, ConfigError
from langchain_costrouter.ledger.engine import (
    connection_option_problem,
    create_ledger_engine,
    long_name_problem,
    sqlalchemy_url,
    sqlite_path,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
_POOL = {"pool_size": 10, "max_overflow": 20}
_TRANSACTIONS = "READ COMMITTED"


class SQLConnections:
    """One database's engines, and its tables created before the first piece of work."""

    def __init__(self, url: str, tables: BudgetTables, *, durable: bool = False) -> None:
        self._options: dict[str, Any] = dict(_POOL)
        if not url.startswith("sqlite"):
            self._options["isolation_level"] = "AUTOCOMMIT"
        if not durable:
            self._options["connect_args"] = {"options": "-c synchronous_commit=off"}
        self.engine = _engine(url, self._options)
        self.url = shown_url(self.engine.url.render_as_string(hide_password=True))
        if (problem := long_name_problem(tables.metadata, self.engine.dialect)) is not None:
            raise ConfigError(f"budget store {self.url!r}: {problem}", key="budget_store")
        self.postgres = self.engine.dialect.name == "postgresql"
        self.tables = tables
        self._async: LoopClients[AsyncEngine] = LoopClients(
            self._new_async_engine, _dispose, _dispose_aside
        )
        self._tables_ready = False
        # Work on SQLite runs on the callers' threads: a fork must not copy a transaction
        # under way, or the child's SQLite thinks the write lock is held for ever (_fork).
        self._fork_gate = ForkGate()
        if not self.postgres:
            hold_across_fork(self, "_fork_gate")
        if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
            os.register_at_fork(after_in_child=lambda: self.engine.dispose(close=False))

    def run(self, work: Callable[..., T], autocommit: bool, *args: Any) -> T:
        """``work(connection, *args)``; ``autocommit`` for work of one statement."""
        for attempt in (1, 2):
            try:
                with self.errors(), self._fork_gate.entered():
                    if not self._tables_ready:
                        with self.engine.connect() as conn:
                            self._in_transactions(conn)
                            with conn.begin():
                                create_tables(conn, self.tables)
                        self._tables_ready = True
                    with self.engine.connect() as conn:
                        if not autocommit:
                            self._in_transactions(conn)
                        return work(conn, *args)
            except BudgetStoreError as error:
                if attempt == 2 or not _worth_retrying(error):
                    raise
        raise AssertionError("unreachable")

    async def arun(self, work: Callable[..., T], autocommit: bool, *args: Any) -> T:
        """`run` without blocking the event loop."""
        if not self.postgres:
            return await asyncio.to_thread(self.run, work, autocommit, *args)
        engine = await self._async.get()
        for attempt in (1, 2):
            try:
                with self.errors():
                    if not self._tables_ready:
                        async with engine.connect() as conn:
                            await conn.execution_options(isolation_level=_TRANSACTIONS)
                            async with conn.begin():
                                await conn.run_sync(create_tables, self.tables)
                        self._tables_ready = True
                    async with engine.connect() as conn:
                        if not autocommit:
                            await conn.execution_options(isolation_level=_TRANSACTIONS)
                        return await conn.run_sync(work, *args)
            except BudgetStoreError as error:
                if attempt == 2 or not _worth_retrying(error):
                    raise
        raise AssertionError("unreachable")

    def _in_transactions(self, conn: sa.Connection) -> None:
        """Leave autocommit mode on this connection until it goes back to the pool."""
        if self.postgres:
            conn.execution_options(isolation_level=_TRANSACTIONS)

    def drop_tables(self) -> None:
        with self.errors(), self.engine.begin() as conn:
            self.tables.metadata.drop_all(conn, checkfirst=True)
        self._tables_ready = False

    def close(self) -> None:
        """Dispose of the blocking engine and every event loop's async one."""
        self._async.close_all()
        self.engine.dispose()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Database and network failures as `BudgetStoreError` naming the store."""
        try:
            yield
        except (SQLAlchemyError, OSError) as error:
            raise BudgetStoreError(self.url, error) from error

    def _new_async_engine(self) -> AsyncEngine:
        """An engine for the running event loop (a connection belongs to the loop that
        opened it)."""
        # Imported here: async engines need greenlet (the [postgres] extra), SQLite not.
        from sqlalchemy.ext.asyncio import create_async_engine

        return create_async_engine(self.engine.url, **self._options)


@contextmanager
def transaction(conn: sa.Connection) -> Iterator[Callable[[], None]]:
    """A transaction that commits only when the body calls the function it yields."""
    begun = conn.begin()
    try:
        yield begun.commit
    finally:
        if begun.is_active:
            begun.rollback()


async def _dispose(engine: AsyncEngine) -> None:
    await engine.dispose()


def _dispose_aside(engine: AsyncEngine) -> None:
    """`_dispose` without the engine's loop (idle or closed): psycopg's close is libpq's
    PQfinish, and the pool's queue binds no loop unless a caller waits on it."""
    run_aside(engine.dispose)


def _worth_retrying(error: BudgetStoreError) -> bool:
    """A stale pooled connection, or a deadlock Postgres broke by rolling us back (a
    settlement racing the reclaim of its own expired lease): both safe to run again."""
    cause = error.__cause__
    if not isinstance(cause, DBAPIError):
        return False
    return cause.connection_invalidated or getattr(cause.orig, "sqlstate", None) in _RETRYABLE


_RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure


def _engine(url: str, options: dict[str, Any]) -> sa.Engine:
    """SQLite files through the ledger's engine (owner-only file, WAL, BEGIN IMMEDIATE);
    Postgres without pre-ping (a stale connection is retried instead, saving a round
    trip per call)."""
    if url.startswith("sqlite"):
        if sqlite_path(url) is None:
            raise ConfigError(
                f"budget store {shown_url(url)!r} names no file; use sqlite:///PATH, or memory:// "
                "for budgets of one process",
                key="budget_store",
            )
        return create_ledger_engine(url)
    if (problem := connection_option_problem(url)) is not None:
        raise ConfigError(
            f"budget store {shown_url(url)!r}: {problem}; the store itself reads prefix "
            "and durable",
            key="budget_store",
        )
    return sa.create_engine(sqlalchemy_url(url), **options)
