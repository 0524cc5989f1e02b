"""The SQLite ledger file: where it lives, who can read it, its schema, its writes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.ledger import LedgerRow, SQLLedger, default_ledger_path, open_ledger
from langchain_costrouter.ledger import queries as sql_queries
from langchain_costrouter.ledger.engine import create_ledger_engine, sqlalchemy_url
from langchain_costrouter.ledger.schema import LATEST_VERSION, MIGRATIONS, migrate
from tests.fork_support import forked_child_can_write
from tests.unit_tests.ledger.support import sample_rows


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_and_directories_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.db"
    with open_ledger(f"sqlite:///{path}") as ledger:
        ledger.add(sample_rows())
    assert mode(path) == 0o600
    assert mode(path.parent) == mode(path.parent.parent) == 0o700


def test_default_path_is_in_the_user_data_dir() -> None:
    assert default_ledger_path().name == "ledger.sqlite3"
    assert "langchain-costrouter" in str(default_ledger_path())


def test_bare_postgres_urls_mean_psycopg() -> None:
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


def test_migrations_are_numbered_and_idempotent(tmp_path: Path) -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'l.db'}")
    assert migrate(engine) == migrate(engine) == LATEST_VERSION
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM costrouter_schema_version")).all()
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert [v for (v,) in versions] == list(range(1, LATEST_VERSION + 1))
    assert journal == "wal"
    engine.dispose()


def test_a_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO costrouter_schema_version (version) VALUES (99)"))
    engine.dispose()
    with pytest.raises(ConfigError, match="Upgrade langchain-costrouter"):
        open_ledger(url)


def test_table_prefixes_keep_ledgers_apart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_ledger(url, table_prefix="app_a_") as a, open_ledger(url, table_prefix="app_b_") as b:
        a.add(sample_rows())
        assert len(a.rows()) == 5
        assert b.rows() == []


def test_rows_are_written_in_the_background(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    ledger = SQLLedger(url, flush_interval=0.01)
    ledger.add(sample_rows())
    reader = create_ledger_engine(url)
    deadline = time.monotonic() + 5
    count = 0
    while count < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
        with reader.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM costrouter_ledger")).scalar_one()
    assert count == 5  # written by the background thread: nobody called flush
    ledger.close()
    reader.dispose()


def test_a_failing_write_warns_once_and_keeps_rows_for_retry(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = SQLLedger(f"sqlite:///{path}", flush_interval=3600)
    blocker = create_ledger_engine(f"sqlite:///{path}")
    with blocker.begin() as conn:
        conn.exec_driver_sql("DROP TABLE costrouter_ledger")
        conn.exec_driver_sql("CREATE TABLE costrouter_ledger (x INTEGER)")
    ledger.add(sample_rows())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pending_first = ledger.flush()
        ledger.add(sample_rows()[:1])  # another call while the database is failing
        pending_then = ledger.flush()
    assert (pending_first, pending_then) == (5, 6)
    warned = [w for w in caught if w.category is BackendUnavailableWarning]
    assert len(warned) == 1
    assert f"6 rows wait in the spool at {ledger.spool_dir}" not in str(warned[0].message)
    assert f"5 rows wait in the spool at {ledger.spool_dir}" in str(warned[0].message)
    with blocker.begin() as conn:
        conn.exec_driver_sql("DROP TABLE costrouter_ledger")
        conn.exec_driver_sql("DELETE FROM costrouter_schema_version")
    ledger._store.migrated = False  # the schema is back at version 0: migrate again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ledger.flush() == 0
    assert len(ledger.rows()) == 5
    ledger.close()
    blocker.dispose()


def test_rows_are_written_at_interpreter_exit_without_close(tmp_path: Path) -> None:
    path = tmp_path / "exit.db"
    script = textwrap.dedent(
        f"""
        from langchain_costrouter.ledger import open_ledger
        from tests.unit_tests.ledger.support import sample_rows
        ledger = open_ledger("sqlite:///{path}")
        ledger.add(sample_rows())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[3])
    with open_ledger(f"sqlite:///{path}") as ledger:
        assert len(ledger.rows()) == 5


def test_opening_a_new_file_another_process_is_writing_waits_for_it(tmp_path: Path) -> None:
    # Two processes opening one new ledger (or budget store) at once: while one writes,
    # the other's switch to WAL fails at once ("database is locked", busy timeout or
    # not) unless it is retried. CI saw this with four workers starting together.
    path = tmp_path / "ledger.db"
    writing, committing = threading.Event(), threading.Event()

    def other_process_creating_tables() -> None:
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("CREATE TABLE theirs (x)")
        writing.set()
        time.sleep(0.3)
        committing.set()  # before: the opener may go on the moment the commit lands
        writer.execute("COMMIT")
        writer.close()

    holder = threading.Thread(target=other_process_creating_tables)
    holder.start()
    writing.wait()
    with create_ledger_engine(f"sqlite:///{path}").connect() as conn:
        assert committing.is_set()  # it waited for the writer instead of failing
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    holder.join()


def test_an_uncreatable_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot create the ledger file"):
        open_ledger("sqlite:////proc/no/such/dir/ledger.db")


def _child_records(ledger: SQLLedger) -> None:
    ledger.add([replace(row, run_id=f"child-{row.run_id}") for row in sample_rows()])
    ledger.close()


def test_a_forked_child_writes_its_rows_not_the_parents_pending_ones(tmp_path: Path) -> None:
    ledger = SQLLedger(f"sqlite:///{tmp_path / 'l.db'}", flush_interval=3600)
    ledger.add(sample_rows())  # pending in the parent when it forks
    child = multiprocessing.get_context("fork").Process(target=_child_records, args=(ledger,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    rows = ledger.rows()
    ledger.close()
    assert sorted(row.run_id for row in rows) == sorted(
        [row.run_id for row in sample_rows()] + [f"child-{row.run_id}" for row in sample_rows()]
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_fork_waits_for_a_read_of_another_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reads begin IMMEDIATE transactions too: forked while a thread of the parent read
    # the ledger (a report, a /metrics endpoint), the child's SQLite believed the write
    # lock held for ever, so nothing the worker recorded was ever written.
    path = tmp_path / "l.db"
    ledger = SQLLedger(f"sqlite:///{path}", flush_interval=3600)
    ledger.add(sample_rows()[:1])
    ledger.flush()
    begun, finish = threading.Event(), threading.Event()
    row_from_db = sql_queries.row_from_db

    def slow_row(record: Any) -> LedgerRow:
        begun.set()
        finish.wait(10)
        return row_from_db(record)

    monkeypatch.setattr(sql_queries, "row_from_db", slow_row)
    reader = threading.Thread(target=ledger.rows)
    reader.start()
    code = forked_child_can_write(path, begun, finish)
    reader.join()
    ledger.close()
    assert code == 0


def test_a_relative_path_opens_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's first example: ``sqlite:///costs.sqlite`` worked once, then every later
    open (the file no longer empty) failed with 'relative path can't be expressed as a
    file URI' while checking that the file is a database."""
    monkeypatch.chdir(tmp_path)
    first = SQLLedger("sqlite:///costs.sqlite")
    first.add(sample_rows())
    first.close()
    again = SQLLedger("sqlite:///costs.sqlite")
    assert len(again.rows()) == len(sample_rows())
    again.close()
