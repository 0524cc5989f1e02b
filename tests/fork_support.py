"""Forking in tests: while another thread is inside a SQLite transaction, and
multiprocessing children of the fork start method (as workers on Linux are made)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

FORK = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
"""The fork context, or None where the platform has no fork()."""


def run_forked(target: Callable[[], None]) -> int:
    """Run ``target`` in a multiprocessing child of the fork context; its exit code."""
    assert FORK is not None
    child = FORK.Process(target=target)
    child.start()
    child.join(30)
    return child.exitcode if child.exitcode is not None else -1


def forked_child_can_write(
    database: Path,
    begun: threading.Event,
    finish: threading.Event,
    also: Callable[[], object] | None = None,
) -> int:
    """Fork once another thread is inside a transaction (``begun`` set; it goes on when
    ``finish`` is, 0.2 s after the fork starts), and return the child's exit code: 0 when
    the child could take SQLite's write lock on ``database`` (and run ``also``).

    A fork that copied the other thread's transaction leaves the child's SQLite
    believing the write lock held for ever: the child then exits 1.
    """
    assert begun.wait(10)
    threading.Timer(0.2, finish.set).start()
    child = os.fork()
    if child == 0:
        try:
            sqlite3.connect(database, timeout=1).execute("BEGIN IMMEDIATE").execute("ROLLBACK")
            if also is not None:
                also()
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)
