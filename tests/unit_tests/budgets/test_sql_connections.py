"""The SQLite budget store and fork(): a fork never copies a transaction under way."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from langchain_costrouter.budgets.sql_connections import transaction
from langchain_costrouter.budgets.sql_store import SQLStore
from tests.fork_support import forked_child_can_write

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")


def test_a_fork_waits_for_a_budget_transaction_of_another_thread(tmp_path: Path) -> None:
    # A gunicorn --preload app forks while one of its threads reserves a budget: the
    # child's copy of SQLite said the write lock was held by a connection that does not
    # exist there, so every budget write of the worker failed with "database is locked".
    path = tmp_path / "budgets.sqlite3"
    store = SQLStore(f"sqlite:///{path}")
    store.read([])  # creates the tables
    begun, finish = threading.Event(), threading.Event()

    def slow_write(conn: sa.Connection) -> None:
        with transaction(conn) as commit:
            conn.execute(store.tables.accounts.delete())
            begun.set()
            finish.wait(10)
            commit()

    def quick_write(conn: sa.Connection) -> None:
        with transaction(conn) as commit:
            conn.execute(store.tables.accounts.delete())
            commit()

    writer = threading.Thread(target=lambda: store._db.run(slow_write, False))
    writer.start()
    code = forked_child_can_write(
        path, begun, finish, also=lambda: store._db.run(quick_write, False)
    )
    writer.join()
    assert code == 0
