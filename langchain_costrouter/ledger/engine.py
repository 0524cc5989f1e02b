"""Ledger URLs to SQLAlchemy engines tuned for many concurrent writers.

SQLite: WAL journal (readers never block the writer), a 30 s busy timeout (writers
of other processes wait instead of failing) and ``BEGIN IMMEDIATE`` transactions
(a writer takes the lock up front, so two never deadlock upgrading a read lock), but
for a ledger's reads (`READ_SNAPSHOT`), which begin deferred and take no lock.
Switching a new file to WAL is retried for as long as the busy timeout: processes that
open one new file at once can make the switch fail at once, busy timeout or not.
The default file lives in the user data dir, owner-only: it records prompts' sizes
and spend, which is nobody else's business.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa

from langchain_costrouter._private_files import make_private_dir
from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import ConfigError

APP_NAME = "langchain-costrouter"
_BUSY_TIMEOUT_MS = 30_000
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def default_ledger_path() -> Path:
    """Where the default SQLite ledger lives (the user data dir)."""
    return platformdirs.user_data_path(APP_NAME) / "ledger.sqlite3"


def default_ledger_url() -> str:
    """The default ledger: SQLite in the user data dir."""
    return f"sqlite:///{default_ledger_path()}"


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL of a ledger URL: bare ``postgresql://`` means psycopg 3."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL, None for other databases or in-memory SQLite."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise _unknown_url(url) from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def create_ledger_engine(url: str) -> sa.Engine:
    """An engine for ``url``; a SQLite file (and its directory) is created owner-only.

    Raises:
        ConfigError: An unknown database, a missing driver, or in-memory SQLite (each
            connection of which is a database of its own: the background writer's
            would not be the one the tables were created on).
    """
    path = sqlite_path(url)
    if path is None:
        try:
            _refuse_sqlite_in_memory(url)
            if (problem := connection_option_problem(url)) is not None:
                raise ConfigError(
                    f"cannot open the ledger URL {shown_url(url)!r}: {problem}. {_USE}"
                )
            return sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True)
        except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError):
            raise _unknown_url(url) from None
        except ImportError as error:  # the dialect is known, its driver is not installed
            raise _missing_driver(url, error.name) from None
    try:
        create_private_file(path)
    except OSError as error:
        raise ConfigError(
            f"cannot create the ledger file {path} ({error.strerror}). "
            "Pass a writable sqlite:///PATH, or memory:// for no file."
        ) from error
    _check_sqlite_file(path)
    engine = sa.create_engine(
        f"sqlite:///{path}", connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000}
    )
    sa.event.listen(engine, "connect", _configure_sqlite)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def connection_option_problem(url: str) -> str | None:
    """What is wrong with a Postgres URL's query options for psycopg, None if nothing.

    psycopg (libpq) refuses an option it does not know only when it connects, and a
    refused connection looks like a database that is down: the ledger would spool its
    rows behind an "unavailable" warning, a budget store would refuse (or let through)
    every call, for a typo in the URL. libpq's own parser is asked here, at once.
    """
    parsed = sa.make_url(sqlalchemy_url(url))
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() != "psycopg":
        return None
    options = {
        name: value if isinstance(value, str) else ",".join(value)
        for name, value in parsed.query.items()
    }
    if not options:
        return None
    try:
        import psycopg.conninfo
    except ImportError:
        return None  # create_engine names the missing driver
    try:
        psycopg.conninfo.make_conninfo("", **options)
    except psycopg.Error as error:
        return f"{str(error).strip()} (psycopg reads the URL's query options as libpq's)"
    return None


def long_name_problem(metadata: sa.MetaData, dialect: sa.Dialect) -> str | None:
    """A table, index or constraint name longer than the database keeps, None if none.

    A long table prefix makes such names: SQLAlchemy refuses them only when it creates
    the tables, with an error the stores would take for a database that is down (and
    Postgres truncates a long table name, so two prefixes could share a table).
    """
    names = [
        name
        for table in metadata.tables.values()
        for name in (
            table.name,
            *(index.name for index in table.indexes),
            *(constraint.name for constraint in table.constraints),
        )
        if isinstance(name, str)
    ]
    longest, limit = max(names, key=len, default=""), dialect.max_identifier_length
    if len(longest) <= limit:
        return None
    return (
        f"the name {longest!r} is {len(longest)} characters, more than the {limit} "
        f"{dialect.name} keeps; use a table prefix of {len(longest) - limit} characters less"
    )


def _unknown_url(url: str) -> ConfigError:
    return ConfigError(f"cannot open the ledger URL {shown_url(url)!r}: unknown database. {_USE}")


def _missing_driver(url: str, module: str | None) -> ConfigError:
    """Name the module SQLAlchemy could not import, and the package that provides it."""
    if module is None:
        missing = "its database driver is not installed"
    else:
        package = _DRIVER_PACKAGES.get(module.split(".")[0], module.split(".")[0])
        missing = f"the database driver {module} is not installed (pip install {package!r})"
    return ConfigError(f"cannot open the ledger URL {shown_url(url)!r}: {missing}. {_USE}")


def _refuse_sqlite_in_memory(url: str) -> None:
    """``sqlite://`` would seem to work, then lose rows: refuse it at once."""
    if sa.make_url(url).get_backend_name() == "sqlite":  # and sqlite_path named no file
        raise ConfigError(
            f"the ledger URL {shown_url(url)!r} is an in-memory SQLite database, which the "
            "ledger's background writer cannot share. Use memory:// for rows kept in "
            "memory, or sqlite:///PATH for a file."
        )


_USE = "Use memory://, sqlite:///PATH or postgresql://USER@HOST/DB."
_DRIVER_PACKAGES = {
    "psycopg": "langchain-costrouter[postgres]",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
}
"""What to install for a driver whose pip name differs from its module's."""


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is neither empty (new) nor a SQLite database, before writing to it.

    Read through SQLite itself, never a file descriptor of our own: closing any descriptor
    of a file drops every POSIX lock this process holds on it, so a second engine opening
    the file would silently unlock the first one's connections (another process could
    then checkpoint and delete their WAL, losing their writes).
    """
    if path.stat().st_size == 0:
        return
    uri = f"{path.absolute().as_uri()}?mode=ro"  # as_uri refuses a relative path
    try:
        with contextlib.closing(
            sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_MS / 1000)
        ) as c:
            c.execute("PRAGMA schema_version")
    except sqlite3.OperationalError:
        return  # busy or locked by a writer: a database all the same, the engine will wait
    except sqlite3.DatabaseError:  # SQLITE_NOTADB: "file is not a database"
        raise ConfigError(
            f"the ledger file {path} is not a SQLite database. "
            "Pass the sqlite:///PATH of a ledger, or a new file name."
        ) from None


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (0600), its new directories 0700."""
    if path.exists():
        return
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process created it first
    os.close(fd)


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another connection holds the file.

    The switch reads the schema, then needs the file to itself; when another process is
    writing (creating the tables of the same new file, say) SQLite answers "database is
    locked" at once instead of calling the busy handler, which would deadlock holding the
    read. Once a file is in WAL mode it stays so, and the switch is a no-op.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause * random.uniform(0.5, 1.5))  # jitter: racing processes spread out
        pause = min(pause * 2, 0.05)


READ_SNAPSHOT = "costrouter_read_snapshot"
"""An execution option: the SQLite connection's transactions only read, and begin
DEFERRED. In WAL mode such a transaction reads one snapshot, taken at its first read,
and blocks no writer (`SQLLedger.snapshot`); every other transaction is IMMEDIATE."""


def _begin_immediate(conn: sa.Connection) -> None:
    deferred = conn.get_execution_options().get(READ_SNAPSHOT, False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
