"""A directory's store lives while a backend uses it, and commits what it queued when it goes."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import weakref
from pathlib import Path

import pytest

from langchain_costrouter.cache import DiskBackend, write_behind
from langchain_costrouter.cache.disk_store import _STORES
from tests.fresh_python import fresh_python


def stored(directory: Path, key: str) -> bytes | None:
    """The value committed to the database file under ``key``, read with plain SQLite."""
    with sqlite3.connect(f"file:{directory / 'cache.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT value FROM Cache WHERE key = ?", (key,)).fetchone()
    return None if row is None else bytes(row[0])


def open_database_files(directory: Path) -> list[str]:
    """The files of ``directory`` this process holds open (its SQLite connections)."""
    targets = (os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd"))
    return sorted(t for t in targets if t.startswith(str(directory.resolve())))


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "costrouter-cache-writer"]


def test_the_store_is_freed_with_the_last_backend_of_its_directory(tmp_path: Path) -> None:
    first, second = DiskBackend(tmp_path), DiskBackend(tmp_path)
    first.set("k", b"v", None)
    first.flush()
    assert second.get("k") == b"v"  # the store and its database are open
    gone = weakref.ref(first._store)
    del first
    gc.collect()
    assert gone() is not None  # `second` still uses it
    del second
    gc.collect()
    assert gone() is None
    assert tmp_path.absolute() not in _STORES


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_freed_store_leaves_no_connection_and_no_thread(tmp_path: Path) -> None:
    # A process opening cache after cache (tests, a notebook re-run, one per tenant)
    # kept every one's SQLite connections and writer thread until it exited.
    threads_before = set(writer_threads())
    for n in range(5):
        backend = DiskBackend(tmp_path / str(n))
        backend.set("k", b"v", None)  # the writer thread runs
        assert backend.get("k") == b"v"
        del backend
    gc.collect()
    for thread in set(writer_threads()) - threads_before:
        thread.join(5)
        assert not thread.is_alive()
    gc.collect()
    assert open_database_files(tmp_path) == []
    assert [stored(tmp_path / str(n), "k") for n in range(5)] == [b"v"] * 5


def test_writes_pending_when_the_store_is_freed_are_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_behind, "GATHER_SECONDS", 2.0)  # the thread would be too late
    backend = DiskBackend(tmp_path)
    backend.set("opened", b"o", None)
    backend.flush()
    for n in range(20):
        backend.set(f"k{n}", b"v%d" % n, None)
    del backend
    gc.collect()
    assert [stored(tmp_path, f"k{n}") for n in (0, 19)] == [b"v0", b"v19"]


def test_writes_pending_at_interpreter_exit_are_committed(tmp_path: Path) -> None:
    code = f"""if True:
        from langchain_costrouter.cache import DiskBackend, write_behind
        write_behind.GATHER_SECONDS = 30.0  # only the exit hook can commit in time
        backend = DiskBackend({str(tmp_path)!r})
        backend.set("k", b"v", None)
        print(1)
    """
    assert fresh_python(code) == 1
    assert stored(tmp_path, "k") == b"v"
