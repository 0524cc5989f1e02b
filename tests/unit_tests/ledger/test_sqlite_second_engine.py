"""A second engine on a ledger file must not unlock the first one's connections.

Closing any descriptor of a file drops every POSIX lock the process holds on it; an
engine that checked the file header with a plain ``open()`` did that, and another
process closing the database then deleted the WAL the first engine was still writing to.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from langchain_costrouter.ledger.engine import create_ledger_engine

COUNT = (
    "import sqlite3, sys; "
    "print(sqlite3.connect(sys.argv[1]).execute('select count(*) from t').fetchone()[0])"
)


def rows_seen_by_another_process(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", COUNT, str(path)], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_writes_after_a_second_engine_opened_reach_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    first = create_ledger_engine(f"sqlite:///{path}")
    with first.begin() as conn:
        conn.execute(sa.text("create table t (x integer)"))
        conn.execute(sa.text("insert into t values (1)"))
    second = create_ledger_engine(f"sqlite:///{path}")  # checks the existing file
    assert rows_seen_by_another_process(path) == 1
    with first.begin() as conn:
        conn.execute(sa.text("insert into t values (2)"))
    assert rows_seen_by_another_process(path) == 2
    first.dispose()
    second.dispose()
