"""The diskcache backend: private files, no pickle, corruption is a miss."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sqlite3
import stat
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import diskcache
import pytest

from langchain_costrouter.cache import (
    DiskBackend,
    ResponseCache,
    _disk_lists,
    default_cache_dir,
    disk,
    open_cache,
)
from langchain_costrouter.cache.disk import INLINE_BYTES, JsonOnlyDisk
from langchain_costrouter.errors import BackendUnavailableWarning
from tests.fork_support import forked_child_can_write
from tests.unit_tests.cache.support import answer, request


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_directory_and_files_are_owner_only(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "cache"
    cache = open_cache(f"diskcache://{directory}")
    cache.store(request(), answer())
    cache.close()
    assert mode(directory) == 0o700
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    assert all(mode(f) & 0o077 == 0 for f in files), {f.name: oct(mode(f)) for f in files}


def test_default_directory_is_under_the_user_data_dir() -> None:
    assert default_cache_dir().parts[-2:] == ("langchain-costrouter", "cache")


def test_corrupt_database_file_is_a_miss_with_one_warning(tmp_path: Path) -> None:
    (tmp_path / "cache.db").write_bytes(b"this is not a sqlite database" * 100)
    cache = open_cache(f"diskcache://{tmp_path}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = cache.lookup(request())
        cache.store(request(), answer())  # skipped during the pause, no second warning
        second = cache.lookup(request())
    assert first is None
    assert second is None
    assert [w.category for w in caught] == [BackendUnavailableWarning]
    assert "diskcache" in str(caught[0].message)


def test_corrupt_entry_is_a_miss_and_is_removed(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    cache = ResponseCache(backend)
    backend.set(cache.key(request()), b'{"v": 1, "type": "ai", "data": {"content": 5}}', None)
    with pytest.warns(BackendUnavailableWarning, match="could not be decoded"):
        assert cache.lookup(request()) is None
    assert backend.get(cache.key(request())) is None


def test_pickled_rows_are_never_unpickled(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    cache = ResponseCache(backend)
    key = cache.key(request())
    backend.set(key, b"placeholder", None)
    backend.close()
    with sqlite3.connect(tmp_path / "cache.db") as db:
        db.execute(
            "UPDATE Cache SET mode = 4, value = ? WHERE key = ?", (pickle.dumps(answer()), key)
        )
    with pytest.warns(BackendUnavailableWarning, match="refusing to unpickle"):
        assert ResponseCache(DiskBackend(tmp_path)).lookup(request()) is None


def test_non_bytes_values_are_refused(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    with pytest.raises(TypeError, match="bytes or str"):
        backend._open().set("k", {"a": 1})


def _store_in_child(directory: str) -> None:
    open_cache(f"diskcache://{directory}").store(request(), answer("From the child."))


def test_a_second_process_hits(tmp_path: Path) -> None:
    child = multiprocessing.get_context("spawn").Process(
        target=_store_in_child, args=(str(tmp_path),)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hit = open_cache(f"diskcache://{tmp_path}").lookup(request())
    assert hit is not None
    assert hit.content == "From the child."


def test_ttl_expires_entries(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    backend.set("k", b"v", 0.05)
    assert backend.get("k") == b"v"
    import time

    time.sleep(0.1)
    assert backend.get("k") is None


def test_committed_entries_are_what_diskcache_itself_stores(tmp_path: Path) -> None:
    ours = DiskBackend(tmp_path / "ours")
    ours.get("open")
    inline = {"disk_min_file_size": INLINE_BYTES}
    theirs = diskcache.Cache(str(tmp_path / "theirs"), disk=JsonOnlyDisk, **inline)
    big = b"x" * (2**15 + 10)  # diskcache's default would keep it in a file of its own
    steps = [("a", b"small"), ("b", big), ("b", b"small now"), ("a", big), ("c", b"kept")]
    for key, value in steps:  # one commit each: every overwrite path
        ours.set(key, value, None)
        ours.flush()
        theirs.set(key, value)
    for key, value in steps:  # and all in one commit, a key written twice in it
        ours.set(f"batch-{key}", value, None)
        theirs.set(f"batch-{key}", value)
    ours.flush()
    check = diskcache.Cache(str(tmp_path / "ours"), disk=JsonOnlyDisk)
    for key in ("a", "b", "c", "batch-a", "batch-b", "batch-c"):
        assert check.get(key) == theirs.get(key)
    assert len(check) == len(theirs) == 6
    size = "SELECT value FROM Settings WHERE key = 'size'"
    assert check._sql(size).fetchone() == theirs._sql(size).fetchone() == (0,)
    assert _value_files(tmp_path / "ours") == _value_files(tmp_path / "theirs") == 0


def test_a_value_kept_in_a_file_before_is_replaced_inline(tmp_path: Path) -> None:
    before = diskcache.Cache(str(tmp_path), disk=JsonOnlyDisk)  # diskcache's defaults
    before.set("k", b"x" * (2**15 + 10))
    before.close()
    assert _value_files(tmp_path) == 1
    ours = DiskBackend(tmp_path)
    assert ours.get("k") == b"x" * (2**15 + 10)  # still read
    ours.set("k", b"y" * (2**15 + 10), None)
    ours.flush()
    assert _value_files(tmp_path) == 0 and ours.get("k") == b"y" * (2**15 + 10)


def test_long_answers_leave_no_files_outside_the_database(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the loosest a process may run with
    try:
        directory = tmp_path / "a" / "b" / "cache"
        cache = open_cache(f"diskcache://{directory}")
        cache.store(request(), answer("long " * 40_000))  # 200 KB
        cache.close()
    finally:
        os.umask(old_umask)
    assert cache.lookup(request()) is not None
    paths = [p for p in tmp_path.rglob("*") if p != tmp_path]
    assert _value_files(directory) == 0 and paths
    assert all(mode(p) & 0o077 == 0 for p in paths), {str(p): oct(mode(p)) for p in paths}


def test_an_answer_too_large_for_the_database_is_a_warned_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disk, "INLINE_BYTES", 1000)
    backend = DiskBackend(tmp_path)
    with pytest.warns(BackendUnavailableWarning, match="1,200 bytes was not cached"):
        backend.set("k", b"x" * 1200, None)
    backend.set("small", b"x" * 10, None)
    backend.flush()
    assert backend.get("k") is None and backend.get("small") == b"x" * 10


def _value_files(directory: Path) -> int:
    return sum(1 for path in directory.rglob("*.val"))


def _in_another_process(directory: Path, code: str) -> str:
    """Run ``code`` with ``backend = DiskBackend(directory)`` in a new process; its output."""
    script = (
        "from langchain_costrouter.cache import DiskBackend\n"
        f"backend = DiskBackend({str(directory)!r})\n{code}"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_locks_exclude_other_processes_until_released(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    assert backend.try_lock("k", 10, "a")
    probe = "print(backend.is_locked('k'), backend.try_lock('k', 10, 'b'))"
    assert _in_another_process(tmp_path, probe) == "True False"
    assert not DiskBackend(tmp_path).try_lock("k", 10, "c")  # another cache of this process
    backend.unlock("k", "a")
    assert _in_another_process(tmp_path, probe) == "False True"
    assert not backend.is_locked("k")


def test_a_lock_is_released_only_after_the_answer_is_committed(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    assert backend.try_lock("k", 10, "a")
    backend.set("k", b"answer", None)
    backend.unlock("k", "a")
    # A follower elsewhere that sees the lock gone must find the answer.
    probe = "print(backend.is_locked('k') or backend.get('k') == b'answer')"
    assert _in_another_process(tmp_path, probe) == "True"


def test_entries_written_in_the_background_are_read_back_at_once_and_by_others(
    tmp_path: Path,
) -> None:
    backend = DiskBackend(tmp_path)
    for i in range(300):
        backend.set(f"k{i}", f"v{i}".encode(), None)
    assert backend.get("k299") == b"v299"  # this process reads its own writes at once
    backend.flush()
    assert _in_another_process(tmp_path, "print(backend.get('k0'), backend.get('k299'))") == (
        "b'v0' b'v299'"
    )


def test_lists_are_read_from_a_position_by_every_instance(tmp_path: Path) -> None:
    writer, reader = DiskBackend(tmp_path / "c"), DiskBackend(tmp_path / "c")
    for value in (b'{"a":1}', b'{"b":2}', b'{"c":3}'):
        writer.append("sem", value)
    assert reader.list_length("sem") == 3
    assert reader.read_list("sem") == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
    assert reader.read_list("sem", 2) == [b'{"c":3}']
    assert reader.read_list("sem", 3) == []
    assert reader.list_length("other") == 0


def test_a_trimmed_list_keeps_its_positions_and_frees_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_disk_lists, "TRIM_BATCH", 3)  # the work of one call is bounded
    writer, reader = DiskBackend(tmp_path / "c"), DiskBackend(tmp_path / "c")
    for i in range(8):
        writer.append("sem", b"v%d" % i)
    writer.trim_list("sem", 6)
    assert reader.list_bounds("sem") == (3, 8)  # three per call: the next call goes on
    writer.trim_list("sem", 6)
    assert reader.list_bounds("sem") == (6, 8)
    assert reader.read_positioned("sem") == [(6, b"v6"), (7, b"v7")]
    assert reader.read_list("sem", 7) == [b"v7"]
    with diskcache.Cache(tmp_path / "c") as cache:
        assert sum(1 for key in cache.iterkeys() if str(key).startswith("sem#")) == 4
    writer.trim_list("sem", 99)
    writer.append("sem", b"v8")
    assert reader.read_positioned("sem") == [(8, b"v8")]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_fork_waits_for_a_transaction_of_another_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # append (the semantic layer's entries), delete and clear write on the caller's
    # thread: forked during one, the child's SQLite believed the write lock held for
    # ever, so every entry the worker stored was lost.
    backend = DiskBackend(tmp_path)
    backend.append("list", b"first")
    begun, finish = threading.Event(), threading.Event()
    count = _disk_lists._count

    def slow_count(value: Any) -> int:
        begun.set()
        finish.wait(10)
        return count(value)

    monkeypatch.setattr(_disk_lists, "_count", slow_count)
    writer = threading.Thread(target=backend.append, args=("list", b"second"))
    writer.start()
    code = forked_child_can_write(tmp_path / "cache.db", begun, finish)
    writer.join()
    assert code == 0
    assert backend.read_list("list") == [b"first", b"second"]
