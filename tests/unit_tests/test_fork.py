"""A fork waits for the background writers' writes in progress, never copies one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import _fork
from langchain_costrouter.cache.write_behind import WriteBehind
from langchain_costrouter.ledger.writer import BatchWriter
from tests.unit_tests.ledger.support import sample_rows

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")


class SlowWrite:
    """A write that signals it has begun, then lasts until ``finish`` is set."""

    def __init__(self) -> None:
        self.begun = threading.Event()
        self.finish = threading.Event()
        self.ended = False

    def __call__(self, batch: Sequence[Any]) -> None:
        self.begun.set()
        self.finish.wait(10)
        self.ended = True


def fork_during(write: SlowWrite, lock: Callable[[], threading.Lock]) -> bool:
    """Fork while ``write`` is under way (ended 0.2 s later): whether the child found it
    ended and the writer's ``lock`` free."""
    assert write.begun.wait(10)
    threading.Timer(0.2, write.finish.set).start()
    child = os.fork()
    if child == 0:  # the child: exit 0 only if the fork came after the write
        os._exit(0 if write.ended and lock().acquire(blocking=False) else 1)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_a_fork_waits_for_the_ledger_writers_write() -> None:
    write = SlowWrite()
    writer = BatchWriter(write, recoverable=(OSError,), where="test")
    writer.submit(sample_rows()[:1])  # the writer thread starts and writes at once
    try:
        assert fork_during(write, lambda: writer._drain_lock)
    finally:
        writer.close()


def test_a_fork_waits_for_the_cache_writers_commit() -> None:
    write = SlowWrite()
    queue = WriteBehind(write)
    queue.write("key", b"value", None)  # the writer thread commits after its gather
    try:
        assert fork_during(write, lambda: queue._lock)
    finally:
        queue.close()


class Owner:
    def __init__(self) -> None:
        self.lock = threading.Lock()


def test_a_writer_is_not_kept_alive_for_forks() -> None:
    owner = Owner()
    _fork.hold_across_fork(owner, "lock")
    assert owner in _fork._writers
    gone = weakref.ref(owner)
    del owner
    assert gone() is None


def test_no_collection_runs_while_a_fork_holds_the_writers_locks(tmp_path: Path) -> None:
    # A cache freed in a reference cycle is collected whenever an allocation triggers
    # the collector, which may be inside the fork, with its writer's lock held by the
    # forking thread: its finalizer commits and waited for that lock for ever.
    code = f"""if True:
        import gc, json, os
        from langchain_costrouter import _fork
        from langchain_costrouter.cache import DiskBackend

        class CollectingLock:  # taken by the fork after the cache's lock
            def acquire(self):
                gc.set_threshold(1)  # any allocation now collects, if collection runs
                [[] for _ in range(100)]
            def release(self):
                gc.set_threshold(700)

        class Owner:
            lock = CollectingLock()

        backend = DiskBackend({str(tmp_path)!r})
        backend.set("k", b"v", None)
        backend.cycle = backend  # garbage only the collector frees
        owner = Owner()
        _fork.hold_across_fork(owner, "lock")
        del backend
        child = os.fork()
        if child == 0:
            os._exit(0)
        _, status = os.waitpid(child, 0)
        print(json.dumps(os.waitstatus_to_exitcode(status)))
    """
    done = subprocess.run(  # a hang is a timeout here, not a hung test run
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert (done.returncode, done.stdout.split()) == (0, ["0"]), done.stderr
    with sqlite3.connect(tmp_path / "cache.db") as db:  # committed by the fork, once
        assert db.execute("SELECT value FROM Cache WHERE key = 'k'").fetchone() == (b"v",)
