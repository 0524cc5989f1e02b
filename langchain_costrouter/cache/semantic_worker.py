"""The background thread that keeps semantic indexes up to date.

Merging a partition's new entries into its base takes seconds (a graph insert is about
a millisecond per row), so lookups hand it to one thread per process and go on with
an exact scan of the new rows meanwhile. One thread: merges never compete with each
other for the cores the application needs.

A forked child (gunicorn ``--preload``, multiprocessing's fork) copies the parent's
memory but not its threads: the worker's thread, and the merge it was running, are gone.
The child used to queue its merges for that missing thread, so they never ran (every
lookup scanned a growing tail exactly, and ``wait_for_semantic_index()`` without a
timeout never returned). The child now starts with no thread and a new queue (its first
merge starts one), and the parent's jobs it copied are marked done there: they did not
happen in the child, so the next lookup that needs a merge schedules it again.
"""

from __future__ import annotations

import os
import queue
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future

from langchain_costrouter.cache.semantic_ann import IndexingStoppedError


class Worker:
    """One daemon thread per process for index upkeep, so merges never run in parallel.

    A daemon: a merge cut short at exit leaves only a temporary file, which the next
    writer removes.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[None], Callable[[], None]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._unfinished: set[Future[None]] = set()

    def submit(self, job: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        future.add_done_callback(self._finished)
        with self._lock:
            self._unfinished.add(future)
            self._jobs.put((future, job))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="costrouter-semantic-index", daemon=True
                )
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            future, job = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                job()
            except IndexingStoppedError as stopped:  # the process is exiting: nothing to report
                future.set_exception(stopped)
            except Exception as error:  # kept for `wait`, and said now: never lost
                warnings.warn(
                    f"Semantic index upkeep failed: {error!r}", RuntimeWarning, stacklevel=1
                )
                future.set_exception(error)
            else:
                future.set_result(None)

    def _finished(self, future: Future[None]) -> None:
        with self._lock:
            self._unfinished.discard(future)

    def forget_parent(self) -> None:
        """In a forked child: no thread, no queue, the parent's copied jobs marked done."""
        copied = self._unfinished
        self._jobs = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()
        self._unfinished = set()
        for future in copied:
            if not future.done():
                future.set_result(None)  # not run here: the store schedules it again


INDEX_WORKER = Worker()
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=INDEX_WORKER.forget_parent)
