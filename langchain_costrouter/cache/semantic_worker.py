"""The background thread that keeps semantic indexes up to date.

Merging a partition's new entries into its base takes seconds (a graph insert is about
a millisecond per row), so lookups hand it to one thread per process and go on with
an exact scan of the new rows meanwhile. One thread: merges never compete with each
other for the cores the application needs.
"""

from __future__ import annotations

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

    def submit(self, job: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        self._jobs.put((future, job))
        with self._lock:
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


INDEX_WORKER = Worker()
