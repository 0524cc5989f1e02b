"""Statements compiled once and run on the driver's cursor, past SQLAlchemy's execution
layer.

The Postgres store's reservation and settlement are one statement each (a reservation on
several accounts follows a statement that locks them, in one transaction, the two sent
together in psycopg's pipeline mode), so SQLAlchemy's per-statement work (cache lookup,
parameter processing, result wrapping) is a large part of what a call costs beyond the
network round trip: bench/budget.py measures both paths.
The statements are still built with SQLAlchemy Core and compiled by the dialect; errors
come back as SQLAlchemy's, and a connection the server dropped is invalidated, so the
store's retry of a stale connection works as for any other statement.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.util import await_only


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement's SQL in the driver's parameter style, and its constant parameters."""

    sql: str
    constants: dict[str, Any]

    @classmethod
    def compile(cls, statement: Any, dialect: Dialect) -> DriverStatement:
        compiled = statement.compile(dialect=dialect)
        constants = {name: value for name, value in compiled.params.items() if value is not None}
        return cls(compiled.string, constants)


def fetch_all(conn: sa.Connection, statement: DriverStatement, params: dict[str, Any]) -> list[Any]:
    """Run ``statement`` on the connection's driver cursor and return its rows.

    The connection must be in autocommit mode: the statement commits as it ends, and
    no transaction is left open behind SQLAlchemy's back.
    """
    return fetch_all_after(conn, (), statement, params)


def fetch_all_after(
    conn: sa.Connection,
    first: Sequence[DriverStatement],
    statement: DriverStatement,
    params: dict[str, Any],
) -> list[Any]:
    """Run ``first`` (if any) then ``statement`` in one transaction; ``statement``'s rows.

    Each statement of a transaction on Postgres's READ COMMITTED reads a snapshot taken
    as it starts: once ``first`` holds the rows' locks, ``statement`` reads them as
    they are, with nothing left for it to wait on. The connection is in autocommit
    mode; the statements are sent together in pipeline mode (`_pipelined`), one round
    trip, or where the driver's libpq cannot pipeline, inside BEGIN and COMMIT (four).
    """
    dbapi_connection = conn.connection
    cursor = dbapi_connection.cursor()
    try:
        if not first:
            cursor.execute(statement.sql, statement.constants | params)
            return list(cursor.fetchall())
        if _can_pipeline():
            return _pipelined(dbapi_connection.driver_connection, first, statement, params)
        return _in_transaction(first, cursor, statement, params)
    except conn.dialect.loaded_dbapi.Error as error:
        dropped = conn.dialect.is_disconnect(error, dbapi_connection, cursor)
        if dropped:
            conn.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            statement.sql,
            None,
            error,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=dropped,
            dialect=conn.dialect,
        ) from error
    finally:
        cursor.close()


@functools.cache
def _can_pipeline() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 and later; the binary wheel's
    has). Imported here: a Postgres connection means psycopg is installed, and the
    SQLite store, which shares this module's callers, does not need it."""
    from psycopg import Pipeline

    return Pipeline.is_supported()


def _pipelined(
    driver: Any,
    first: Sequence[DriverStatement],
    statement: DriverStatement,
    params: dict[str, Any],
) -> list[Any]:
    """Send every statement, then one Sync: the server runs them as one implicit
    transaction, committed at the Sync, rolled back whole if one fails (psycopg then
    raises the error as the pipeline ends, and the connection is idle again).

    ``driver`` is psycopg's own connection: async under the async engine, whose
    ``run_sync`` runs this code in a greenlet that may wait on the event loop.
    """
    from psycopg import AsyncConnection

    statements = (*first, statement)
    if isinstance(driver, AsyncConnection):
        return await_only(_apipelined(driver, statements, params))
    cursors = [driver.cursor() for _ in statements]
    try:
        with driver.pipeline():
            for cursor, each in zip(cursors, statements, strict=True):
                cursor.execute(each.sql, each.constants | params)
        return list(cursors[-1].fetchall())
    finally:
        for cursor in cursors:
            cursor.close()


async def _apipelined(
    driver: Any, statements: Sequence[DriverStatement], params: dict[str, Any]
) -> list[Any]:
    cursors = [driver.cursor() for _ in statements]
    try:
        async with driver.pipeline():
            for cursor, each in zip(cursors, statements, strict=True):
                await cursor.execute(each.sql, each.constants | params)
        return list(await cursors[-1].fetchall())
    finally:
        for cursor in cursors:
            await cursor.close()


def _in_transaction(
    first: Sequence[DriverStatement],
    cursor: Any,
    statement: DriverStatement,
    params: dict[str, Any],
) -> list[Any]:
    """The same transaction, opened and ended by hand: a round trip per statement."""
    cursor.execute("BEGIN")
    try:
        for earlier in first:
            cursor.execute(earlier.sql, earlier.constants | params)
        cursor.execute(statement.sql, statement.constants | params)
        rows = list(cursor.fetchall())
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")
    return rows
