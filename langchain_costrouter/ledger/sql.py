"""`SQLLedger`: SQLite (the embedded default) or Postgres through SQLAlchemy Core."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from langchain_costrouter._fork import ForkGate, hold_across_fork
from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.ledger import _journal_lines as journal_lines
from langchain_costrouter.ledger import queries, spool
from langchain_costrouter.ledger._bulk import BulkInsert
from langchain_costrouter.ledger._journal import Journal
from langchain_costrouter.ledger._sql_snapshot import SQLSnapshot
from langchain_costrouter.ledger.base import Ledger, LedgerSnapshot
from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.engine import (
    READ_SNAPSHOT,
    create_ledger_engine,
    long_name_problem,
)
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.schema import DEFAULT_TABLE_PREFIX, ledger_tables, migrate
from langchain_costrouter.ledger.summary import GroupBy, RowFilter, Summary
from langchain_costrouter.ledger.writer import BatchWriter
from langchain_costrouter.metadata import CostRouterMetadata

# What "the database is unavailable" looks like; anything else is a bug and raises.
_UNAVAILABLE = (SQLAlchemyError, OSError)
_UNSTORABLE_TEXT = (sa.exc.DataError, UnicodeEncodeError)
"""What a text the database cannot hold raises (and a few other refused values, which
fail again when written with every text made storable)."""


class _RowStore:
    """The database side, kept apart from `SQLLedger` so the background writer does
    not hold the ledger alive (the ledger's finalizer flushes when it is collected)."""

    def __init__(self, engine: sa.Engine, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.tables = ledger_tables(prefix)
        self.insert = queries.insert_rows(self.tables.rows, engine.dialect.name)
        self.bulk = (
            BulkInsert(self.tables.rows, queries.ROW_COLUMNS, engine.dialect)
            if engine.dialect.name == "sqlite"
            else None
        )
        """SQLite: one statement per hundred rows (see `_bulk`); elsewhere `insert`."""
        self.migrated = False
        self.reading = ForkGate()
        """Reads run on the callers' threads, in read transactions (`SQLLedger.snapshot`):
        a fork waits for them, as for the writer's writes (`_fork`)."""
        if engine.dialect.name == "sqlite":
            hold_across_fork(self, "reading")

    def migrate(self) -> None:
        if not self.migrated:
            migrate(self.engine, self.prefix)
            self.migrated = True

    def write(self, items: Sequence[LedgerRow | PendingCall]) -> None:
        self.migrate()
        values = [row for item in items for row in queries.item_values(item)]
        if not values:
            return
        try:
            self._insert(values)
        except _UNSTORABLE_TEXT:
            # A NUL (Postgres) or a lone surrogate in a text: the batch again, each text
            # as the database can hold it (values are built anew: the first try may
            # have converted them in place), else the row would block the spool forever.
            nul = self.bulk is None  # SQLite (bulk inserts) holds a NUL
            values = [row for item in items for row in queries.item_values(item)]
            self._insert([journal_lines.storable_text(row, nul=nul) for row in values])

    def _insert(self, values: list[list[object]]) -> None:
        with self.engine.begin() as conn:
            if self.bulk is not None:
                self.bulk.execute(conn, values)
            else:
                conn.execute(self.insert, [queries.named(row) for row in values])


class SQLLedger(Ledger):
    """A ledger in a SQL database, written in batches by a background thread.

    Safe with many threads, asyncio tasks and processes writing at once. Rows reach
    the database within ``flush_interval`` seconds, on `flush`, on `close`, when the
    ledger is garbage-collected and at interpreter exit. Every call is journaled before
    `add_call` returns; while the database is down the journal is a spool written in
    order once it answers (`pending_rows` says how many rows wait).
    """

    def __init__(
        self,
        url: str,
        *,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        flush_interval: float = 0.2,
        batch_size: int = 500,
        spool_root: Path | None = None,
    ) -> None:
        """Args:
        url: A SQLAlchemy URL (``sqlite:///PATH``, ``postgresql+psycopg://...``).
        table_prefix: Prefix of the ledger's tables, so apps can share a database.
        flush_interval: Seconds between background writes.
        batch_size: Pending rows that trigger a write before the interval ends.
        spool_root: Where the journals live (None: `spool.spool_root`, the user data dir).
        """
        engine = create_ledger_engine(url)
        self.url = shown_url(engine.url.render_as_string(hide_password=True))
        _check_names(self.url, table_prefix, engine.dialect)
        self.spool_dir = spool.spool_dir(self.url, table_prefix, spool_root)
        """This ledger's journal and spool directory (owner-only)."""
        self._store = _RowStore(engine, table_prefix)
        self._migrate_or_defer()
        self._writer = BatchWriter(
            self._store.write,
            recoverable=_UNAVAILABLE,
            where=self.url,
            journal=self._open_journal(table_prefix),
            interval=flush_interval,
            batch_size=batch_size,
            after_fork=lambda: engine.dispose(close=False),
        )
        self._finalizer = weakref.finalize(self, _shut_down, self._writer, engine)

    def add(self, rows: Iterable[LedgerRow]) -> None:
        """Queue rows for the background writer (microseconds, never raises)."""
        self._writer.submit(rows)

    def add_call(
        self,
        meta: CostRouterMetadata,
        *,
        run_id: str,
        when: datetime,
        reference_model: str | None = None,
    ) -> None:
        """Queue the call; the background writer builds its rows."""
        self._writer.submit((PendingCall(meta, run_id, when, reference_model),))

    def flush(self) -> int:
        """Write pending rows now; return how many could not be written (kept for retry)."""
        return self._writer.flush()

    def close(self) -> None:
        """Write what is pending and release the database connections."""
        self._finalizer()

    def pending_rows(self) -> int:
        """Rows of this ledger waiting in its spool after a write attempt (0: all written).

        Counts this process's spooled rows, those of other running processes that could
        not write, and those of ended processes that are still unwritten.
        """
        self.flush()
        return spool.pending_rows(self.spool_dir)

    def _summarise(self, by: GroupBy, where: RowFilter) -> Summary:
        """Spend per group, aggregated by the database."""
        with self.snapshot() as view:
            return view._summarise(by, where)

    @contextmanager
    def snapshot(self) -> Iterator[LedgerSnapshot]:
        """One read-only transaction on one connection: its summaries see one snapshot.

        SQLite (WAL) takes the snapshot at the transaction's first read and, begun
        DEFERRED (`engine.READ_SNAPSHOT`), never blocks the writers meanwhile; Postgres
        reads at REPEATABLE READ, READ ONLY. A fork waits for the snapshot to close
        (so none may be made inside it).
        """
        self._ready()
        with self._store.reading.entered(), self._store.engine.connect() as conn:
            conn.execution_options(**_SNAPSHOT_OPTIONS.get(conn.dialect.name, {}))
            with conn.begin():
                yield SQLSnapshot(conn, self._store.tables.rows)

    def rows(self) -> list[LedgerRow]:
        """Every stored row in the order written."""
        self._ready()
        with self._store.reading.entered(), self._store.engine.connect() as conn:
            records = conn.execute(queries.select_rows(self._store.tables.rows)).mappings()
            return [queries.row_from_db(record) for record in records]

    def _ready(self) -> None:
        self.flush()
        self._store.migrate()

    def _migrate_or_defer(self) -> None:
        # An unreachable database must not stop the app: rows wait in memory and the
        # schema is created before the first write that gets through.
        try:
            self._store.migrate()
        except _UNAVAILABLE as error:
            warnings.warn(
                f"Ledger {self.url} is unavailable ({type(error).__name__}: {error}); "
                f"rows are spooled at {self.spool_dir} until it answers.",
                BackendUnavailableWarning,
                stacklevel=3,
            )

    def _open_journal(self, table_prefix: str) -> Journal | None:
        try:
            return Journal(self.spool_dir, self.url, table_prefix)
        except OSError as error:
            warnings.warn(
                f"Ledger {self.url}: cannot create the spool at {self.spool_dir} ({error}); "
                f"rows wait in memory while the database is down. Set {spool.SPOOL_DIR_ENV} "
                "to a writable directory.",
                BackendUnavailableWarning,
                stacklevel=4,
            )
            return None


_SNAPSHOT_OPTIONS: dict[str, dict[str, object]] = {
    "sqlite": {READ_SNAPSHOT: True},
    "postgresql": {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True},
}
"""Per dialect, the execution options of a snapshot's connection (reset when it goes
back to the pool)."""


def _check_names(url: str, table_prefix: str, dialect: sa.Dialect) -> None:
    """Refuse a table prefix whose names the database cannot hold, before any write."""
    problem = long_name_problem(ledger_tables(table_prefix).rows.metadata, dialect)
    if problem is not None:
        raise ConfigError(f"the ledger {url} cannot take table_prefix {table_prefix!r}: {problem}")


def _shut_down(writer: BatchWriter, engine: sa.Engine) -> None:
    writer.close()
    engine.dispose()
