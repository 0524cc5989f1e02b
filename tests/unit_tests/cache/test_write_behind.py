"""Queued cache writes across fork(): each committed once, by the process that made it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from langchain_costrouter.cache import DiskBackend
from langchain_costrouter.cache.write_behind import Write, WriteBehind
from tests.fork_support import run_forked
from tests.fresh_python import fresh_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")


def stored(directory: Path, key: str) -> bytes | None:
    """The value committed to the database file under ``key``, read with plain SQLite."""
    try:
        with sqlite3.connect(f"file:{directory / 'cache.db'}?mode=ro", uri=True) as db:
            row = db.execute("SELECT value FROM Cache WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # no database (or no table) yet
        return None
    return None if row is None else bytes(row[0])


def logged_commit(log: Path) -> Callable[[list[Write]], None]:
    """A commit that appends ``<pid> <key>`` per write to ``log`` (a real file)."""

    def commit(writes: list[Write]) -> None:
        with log.open("a") as file:
            file.writelines(f"{os.getpid()} {write.key}\n" for write in writes)

    return commit


def commits(log: Path) -> list[tuple[int, str]]:
    lines = log.read_text().split() if log.exists() else []
    return [(int(pid), key) for pid, key in zip(lines[::2], lines[1::2], strict=True)]


def test_a_forked_workers_entries_are_on_disk_when_it_is_reaped(tmp_path: Path) -> None:
    # The store was opened before the fork (a preloaded app, a pool's parent): the
    # worker's entries waited for the writer thread, and multiprocessing drops the
    # parent's exit finalizers in the child, so the worker exited without them.
    backend = DiskBackend(tmp_path)
    backend.set("parent", b"p", None)
    backend.flush()

    def worker() -> None:
        for n in range(50):
            backend.set(f"child-{n}", b"c%d" % n, None)

    assert run_forked(worker) == 0
    assert [stored(tmp_path, f"child-{n}") for n in (0, 49)] == [b"c0", b"c49"]


def test_writes_queued_before_a_fork_are_committed_by_the_parent_only(tmp_path: Path) -> None:
    log = tmp_path / "commits"
    queue = WriteBehind(logged_commit(log))
    queue.write("before", b"v", None)  # queued: the writer waits to gather more

    def child() -> None:
        seen = commits(log)  # committed before the fork, by the parent
        queue.write("child", b"c", None)
        queue.flush()
        os._exit(0 if seen == [(os.getppid(), "before")] else 3)

    try:
        assert run_forked(child) == 0
    finally:
        queue.close()
    assert sorted(key for _, key in commits(log)) == ["before", "child"]
    assert {key: pid for pid, key in commits(log)}["before"] == os.getpid()


def test_a_write_queued_during_the_fork_is_committed_by_the_parent_only(
    tmp_path: Path,
) -> None:
    # A write queued while the fork happens (after the parent's flush) is the parent's:
    # the child's flush, close or exit must not commit it a second time.
    log = tmp_path / "commits"
    record = logged_commit(log)

    def commit(writes: list[Write]) -> None:
        record(writes)
        if [write.key for write in writes] == ["first"]:
            queue.write("late", b"v", None)  # another thread's write, at the worst moment

    queue = WriteBehind(commit)
    queue.write("first", b"v", None)

    def child() -> None:
        queue.flush()
        queue.close()

    try:
        assert run_forked(child) == 0
    finally:
        queue.close()
    assert commits(log) == [(os.getpid(), "first"), (os.getpid(), "late")]


def test_a_forked_child_writes_with_a_writer_thread_of_its_own(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    backend.set("parent", b"p", None)
    backend.flush()
    backend.set("parent", b"p2", None)  # the parent's writer thread is alive at the fork

    def worker() -> None:
        backend.set("child", b"c", None)
        deadline = time.monotonic() + 5
        while stored(tmp_path, "child") is None and time.monotonic() < deadline:
            time.sleep(0.01)  # committed by the child's own thread, unasked
        os._exit(0 if stored(tmp_path, "child") == b"c" else 3)

    assert run_forked(worker) == 0
    backend.flush()
    assert stored(tmp_path, "parent") == b"p2"


def test_a_raw_fork_child_keeps_its_entries_by_flushing_before_os_exit(tmp_path: Path) -> None:
    # No hook runs under a bare os._exit(): the README tells such a child to flush.
    backend = DiskBackend(tmp_path)
    backend.set("parent", b"p", None)
    child = os.fork()
    if child == 0:
        backend.set("child", b"c", None)
        backend.flush()
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert stored(tmp_path, "child") == b"c"


def test_a_worker_ending_with_sys_exit_commits_its_entries_at_exit(tmp_path: Path) -> None:
    # A gunicorn worker is a bare fork() that ends with sys.exit(): the interpreter's
    # exit hooks, inherited from the parent, commit the child's queue (not the parent's).
    code = f"""if True:
        import json, os, sys
        from langchain_costrouter.cache import DiskBackend
        backend = DiskBackend({str(tmp_path)!r})
        backend.set("parent", b"p", None)
        child = os.fork()
        if child == 0:
            backend.set("child", b"c", None)
            sys.exit(0)
        _, status = os.waitpid(child, 0)
        print(json.dumps(os.waitstatus_to_exitcode(status)))
    """
    assert fresh_python(code) == 0
    assert [stored(tmp_path, "parent"), stored(tmp_path, "child")] == [b"p", b"c"]


def test_closing_a_backend_ends_its_writer_thread_and_a_later_write_starts_one(
    tmp_path: Path,
) -> None:
    # Before: close() committed the queue but left the thread idling for IDLE_SECONDS
    # (5 s), so a closed router still had a thread of its own.
    def writers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "costrouter-cache-writer"}

    idle = writers()  # other tests' backends may still have theirs
    backend = DiskBackend(tmp_path)
    backend.set("before", b"1", None)
    backend.close()
    assert stored(tmp_path, "before") == b"1"
    assert writers() <= idle  # none of its own left
    backend.set("after", b"2", None)  # the directory's store goes on working
    deadline = time.monotonic() + 5
    while stored(tmp_path, "after") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stored(tmp_path, "after") == b"2"  # committed by a new thread, not at close
    backend.close()
