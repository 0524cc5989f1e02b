"""The ledger's writer across fork(): each row written once, by the process that recorded it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import LedgerRow, SQLLedger, spool, sql
from langchain_costrouter.ledger.call_rows import PendingCall
from tests.fork_support import FORK, run_forked
from tests.unit_tests.ledger.support import sample_rows

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")


def rows_of(prefix: str) -> list[LedgerRow]:
    return [replace(row, run_id=f"{prefix}-{row.run_id}") for row in sample_rows()]


def keys_of(rows: Sequence[LedgerRow]) -> list[tuple[str, int]]:
    return sorted((row.run_id, row.attempt) for row in rows)


def stored(database: Path) -> list[tuple[str, int]]:
    """The rows committed to the file, read with plain SQLite (no ledger flushes first)."""
    with sqlite3.connect(database) as db:
        try:
            return sorted(db.execute("SELECT run_id, attempt FROM costrouter_ledger").fetchall())
        except sqlite3.OperationalError:  # no table yet
            return []


@pytest.fixture
def write_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every row any process hands to the database, as ``<pid> <run_id> <attempt>`` lines."""
    log = tmp_path / "writes"
    write = sql._RowStore.write

    def logged(store: sql._RowStore, items: Sequence[LedgerRow | PendingCall]) -> None:
        rows = [
            row
            for item in items
            for row in (item.rows() if isinstance(item, PendingCall) else [item])
        ]
        with log.open("a") as file:
            file.writelines(f"{os.getpid()} {row.run_id} {row.attempt}\n" for row in rows)
        write(store, items)

    monkeypatch.setattr(sql._RowStore, "write", logged)
    return log


def writers(log: Path) -> dict[tuple[str, int], list[int]]:
    """The pids that wrote each row, in order."""
    written: dict[tuple[str, int], list[int]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        pid, run_id, attempt = line.split()
        written.setdefault((run_id, int(attempt)), []).append(int(pid))
    return written


def settled(ledger: SQLLedger) -> SQLLedger:
    """``ledger`` with its writer thread past its first round (a thread writes at once when
    it starts): with a long flush interval, rows added now wait for a flush."""
    ledger.add([])
    time.sleep(0.3)
    return ledger


def test_rows_queued_before_a_fork_are_written_once_by_the_parent(
    tmp_path: Path, write_log: Path
) -> None:
    # The journal makes this exact already: the child forgets the parent's queue and
    # journal, and the database ignores a row it holds (unique run_id, attempt).
    database = tmp_path / "l.db"
    ledger = settled(SQLLedger(f"sqlite:///{database}", flush_interval=3600))
    ledger.add(rows_of("parent"))  # queued and journaled, not written, at the fork

    def child() -> None:
        settled(ledger).add(rows_of("child"))
        ledger.flush()
        ledger.close()

    assert run_forked(child) == 0
    ledger.close()
    assert stored(database) == keys_of(rows_of("parent") + rows_of("child"))
    written = writers(write_log)
    assert {key: written[key] for key in keys_of(rows_of("parent"))} == {
        key: [os.getpid()] for key in keys_of(rows_of("parent"))
    }
    assert all(len(written[key]) == 1 for key in keys_of(rows_of("child")))


def test_a_fork_context_workers_rows_are_written_by_it_before_it_is_reaped(
    tmp_path: Path, write_log: Path
) -> None:
    # A multiprocessing worker leaves with os._exit() after running only the
    # finalizers registered in it: its rows waited in its journal for another
    # process's flush (or the next open), unseen by any reader of the database.
    database = tmp_path / "l.db"
    ledger = SQLLedger(f"sqlite:///{database}", flush_interval=3600)
    ledger.add(rows_of("parent"))
    ledger.flush()

    def worker() -> None:
        settled(ledger).add(rows_of("worker"))

    assert run_forked(worker) == 0
    assert stored(database) == keys_of(rows_of("parent") + rows_of("worker"))
    assert [path.name for path in spool.segments(ledger.spool_dir)] == [  # the worker's is gone
        path.name for path in spool.segments(ledger.spool_dir) if f"-{os.getpid()}-" in path.name
    ]
    ledger.close()
    written = writers(write_log)
    assert all(
        len(written[key]) == 1 and written[key] != [os.getpid()]  # by the worker, once
        for key in keys_of(rows_of("worker"))
    )


_inherited: list[SQLLedger] = []
"""The ledger a pool's workers inherit (a task's arguments are pickled: a ledger is not)."""


def _record_in_pool(n: int) -> None:
    settled(_inherited[0]).add(rows_of(f"pool{n}"))


def test_a_pools_rows_are_written_by_its_workers_when_the_pool_is_closed(
    tmp_path: Path,
) -> None:
    database = tmp_path / "l.db"
    _inherited[:] = [SQLLedger(f"sqlite:///{database}", flush_interval=3600)]
    assert FORK is not None
    pool = FORK.Pool(2)
    try:
        pool.map(_record_in_pool, range(4))
    finally:
        pool.close()  # the workers leave by os._exit() (terminate() would kill them)
        pool.join()
    expected = [key for n in range(4) for key in keys_of(rows_of(f"pool{n}"))]
    assert stored(database) == sorted(expected)
    _inherited.pop().close()


def test_a_ledger_opened_in_a_worker_is_written_when_it_exits(tmp_path: Path) -> None:
    database = tmp_path / "l.db"
    SQLLedger(f"sqlite:///{database}").close()  # the parent has no ledger open

    def worker() -> None:
        settled(SQLLedger(f"sqlite:///{database}", flush_interval=3600)).add(rows_of("worker"))

    # Kept alive by nothing: garbage-collected in the worker, which writes its rows.
    assert run_forked(worker) == 0
    assert stored(database) == keys_of(rows_of("worker"))

    ledgers: list[SQLLedger] = []

    def keeping_worker() -> None:
        ledgers.append(settled(SQLLedger(f"sqlite:///{database}", flush_interval=3600)))
        ledgers[-1].add(rows_of("kept"))

    assert run_forked(keeping_worker) == 0
    assert stored(database) == keys_of(rows_of("worker") + rows_of("kept"))


def test_without_a_journal_a_workers_rows_are_not_lost(tmp_path: Path) -> None:
    # No journal (its directory cannot be made): rows wait in memory only, so a
    # worker's rows not written before os._exit were gone for good.
    database = tmp_path / "l.db"
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackendUnavailableWarning)
        ledger = SQLLedger(f"sqlite:///{database}", flush_interval=3600, spool_root=blocked)

    def worker() -> None:
        settled(ledger).add(rows_of("worker"))

    assert run_forked(worker) == 0
    ledger.flush()
    assert stored(database) == keys_of(rows_of("worker"))
    ledger.close()


def test_a_crashed_parents_journal_is_recoverable_while_its_children_live(
    tmp_path: Path,
) -> None:
    # A child kept the parent's journal files open (the same open files, so the same
    # locks) until its first record: with the parent gone, no process could replay
    # the parent's rows while such a child lived (a pool of workers that record
    # nothing, a helper process).
    database = tmp_path / "l.db"
    spool_root = tmp_path / "spool"
    code = f"""if True:
        import os, pathlib, time
        from dataclasses import replace
        from langchain_costrouter.ledger import SQLLedger
        from tests.unit_tests.ledger.support import sample_rows
        ledger = SQLLedger("sqlite:///{database}", flush_interval=3600,
                           spool_root=pathlib.Path({str(spool_root)!r}))
        ledger.add([])
        time.sleep(0.3)  # the writer thread's first round (at once) is past
        ledger.add([replace(row, run_id="crashed-" + row.run_id) for row in sample_rows()])
        child = os.fork()
        if child == 0:  # a child that records nothing, and lets go of the test's pipes
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        os._exit(0)  # the parent dies without a flush (killed, say)
    """
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    child = int(done.stdout.split()[-1])
    try:
        journals = [path for path in spool_root.glob("*/*") if path.suffix == spool.LIVE]
        assert len(journals) == 1  # the parent's: a child that records nothing makes none
        with SQLLedger(f"sqlite:///{database}", spool_root=spool_root) as ledger:
            ledger.flush()
        assert stored(database) == keys_of(rows_of("crashed"))
    finally:
        os.kill(child, signal.SIGKILL)  # the test's grandchild, by its pid
