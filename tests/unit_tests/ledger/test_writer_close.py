"""Rows that reach a closed ledger are written, not queued for a writer that is gone."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from langchain_costrouter.ledger import SQLLedger
from tests.unit_tests.ledger.support import sample_rows


def stored(database: Path) -> int:
    """Rows committed to the file, read with plain SQLite (no ledger flushes first)."""
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT count(*) FROM costrouter_ledger").fetchone()[0])


def test_rows_added_after_close_are_written_at_once(tmp_path: Path) -> None:
    # A routed call still running when its router is closed records its rows after
    # the writer thread ended: they waited in memory and were lost at exit.
    database = tmp_path / "l.db"
    ledger = SQLLedger(f"sqlite:///{database}", flush_interval=3600)
    before = sample_rows()
    ledger.add(before)
    ledger.close()
    assert stored(database) == len(before)
    late = [replace(row, run_id=f"late-{row.run_id}") for row in sample_rows()]
    ledger.add(late)
    assert stored(database) == len(before) + len(late)
    ledger.close()  # closing again writes nothing twice
    assert stored(database) == len(before) + len(late)
