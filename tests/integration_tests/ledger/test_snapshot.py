"""`Ledger.snapshot`: summaries read from one snapshot see the same rows, whatever is
written meanwhile, on the memory ledger, SQLite and the real Postgres; the rows written
meanwhile are there once it closes, and a SQLite snapshot keeps no writer waiting."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from langchain_costrouter.ledger import Ledger, LedgerRow, open_ledger
from tests.services import drop_tables
from tests.unit_tests.ledger.support import sample_rows


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    prefix = f"n{uuid.uuid4().hex[:10]}_"
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'ledger.db'}",
        "postgres": request.getfixturevalue("postgres_url") if request.param == "postgres" else "",
    }[request.param]
    with open_ledger(url, table_prefix=prefix) as opened:
        opened.add(sample_rows())
        yield opened
    if request.param == "postgres":
        drop_tables(url, prefix)


def _copies(tag: str) -> list[LedgerRow]:
    return [replace(row, run_id=f"{tag}-{row.run_id}") for row in sample_rows()]


def test_summaries_of_a_snapshot_see_its_moment_only(ledger: Ledger) -> None:
    with ledger.snapshot() as view:
        (before,) = view.summary(by="all")
        ledger.add(_copies("meanwhile"))
        assert ledger.flush() == 0  # written and committed while the snapshot is open
        (again,) = view.summary(by="all")
        tasks = view.summary(by="task")
    assert again == before and before.calls == 3
    assert sum(row.calls for row in tasks) == before.calls
    assert sum(row.cost_usd or 0 for row in tasks) == before.cost_usd
    (after,) = ledger.summary(by="all")
    assert after.calls == 6


def test_a_writer_thread_never_splits_a_snapshot(ledger: Ledger) -> None:
    """Rows written by another thread all along: each snapshot's groups add up to its
    total, by task and by day alike."""
    stop = threading.Event()

    def write() -> None:
        for n in range(10_000):
            if stop.is_set():
                return
            ledger.add(_copies(f"thread{n}"))
            ledger.flush()
            time.sleep(0.001)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(15):
            with ledger.snapshot() as view:
                (total,) = view.summary(by="all")
                for by in ("task", "day"):
                    groups = view.summary(by=by)
                    assert sum(row.calls for row in groups) == total.calls, by
                    assert sum(row.cost_usd or 0 for row in groups) == total.cost_usd, by
    finally:
        stop.set()
        writer.join()
