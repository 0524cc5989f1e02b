"""Record locks of a lock file: one descriptor per file and process, closed with its last user."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from langchain_costrouter.cache.file_locks import AVAILABLE, RangeLocks

pytestmark = pytest.mark.skipif(
    not (AVAILABLE and hasattr(os, "fork") and os.path.isdir("/proc/self/fd")),
    reason="needs fcntl, fork() and /proc",
)


def opened(path: Path) -> int:
    """How many descriptors of this process are open on ``path``."""
    fds = os.listdir("/proc/self/fd")
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == str(path.resolve()) for fd in fds)


def locked_elsewhere(path: Path, name: str) -> bool:
    """Whether another process finds the lock of ``name`` held."""
    child = os.fork()
    if child == 0:
        os._exit(0 if RangeLocks(path).is_locked(name) else 1)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_the_file_is_closed_when_its_last_lock_table_is_freed(tmp_path: Path) -> None:
    # A lock table per cache directory: a process opening many of them ran out of
    # descriptors, as a freed table never closed its file.
    path = tmp_path / "locks"
    first, second = RangeLocks(path), RangeLocks(path)
    assert opened(path) == 1
    del first
    gc.collect()
    assert opened(path) == 1
    del second
    gc.collect()
    assert opened(path) == 0
    assert not RangeLocks(path).is_locked("x")  # opened again


def test_freeing_a_lock_table_keeps_the_locks_taken_through_another(tmp_path: Path) -> None:
    # Closing any descriptor of the file drops every record lock the process holds on
    # it: the tables of one file share one, so freeing one drops nothing.
    path = tmp_path / "locks"
    holder, other = RangeLocks(path), RangeLocks(path)
    assert holder.try_lock("x")
    assert not other.try_lock("x")  # one process: its tables exclude each other too
    del other
    gc.collect()
    assert locked_elsewhere(path, "x")
    holder.unlock("x")
    assert not locked_elsewhere(path, "x")
