"""Statements compiled once and run on the driver's cursor, past SQLAlchemy's execution
layer.

The Postgres store's reservation and settlement are one statement each (a reservation on
several accounts follows a statement that locks them, in one transaction), so SQLAlchemy's
per-statement work (cache lookup, parameter processing, result wrapping) is a large part
of what a call costs beyond the network round trip: bench/budget.py measures both paths.
The statements are still built with SQLAlchemy Core and compiled by the dialect; errors
come back as SQLAlchemy's, and a connection the server dropped is invalidated, so the
store's retry of a stale connection works as for any other statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect


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
    mode, so the transaction is opened and ended here; on an error it is rolled back.
    """
    dbapi_connection = conn.connection
    cursor = dbapi_connection.cursor()
    try:
        if not first:
            cursor.execute(statement.sql, statement.constants | params)
            return list(cursor.fetchall())
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
