"""A bounded queue drained by background threads: the user's call only ever enqueues.

`offer` never blocks and never raises: when the queue is full the sample is dropped and
counted, because a shadow sample is worth less than the user's latency. The workers are
threads, so the queue works the same under a blocking app and under any event loop, and
they start with the first sample (a router that never samples starts none). A job that
raises is counted as failed and warned about; it never stops a worker.
"""

from __future__ import annotations

import queue
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from langchain_costrouter.errors import BackendUnavailableWarning

T = TypeVar("T")
_STOP = object()


@dataclass(frozen=True)
class QueueStats:
    """Counts since the queue was made."""

    offered: int
    dropped: int
    """Offered while the queue was full: never evaluated."""
    done: int
    failed: int
    waiting: int


class SampleQueue(Generic[T]):
    """Up to ``maxsize`` items waiting; ``workers`` threads run ``process`` on each."""

    def __init__(self, process: Callable[[T], None], *, maxsize: int, workers: int = 1) -> None:
        self._process = process
        self._items: queue.Queue[object] = queue.Queue(maxsize)
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._offered = self._dropped = self._done = self._failed = 0
        self._closed = False

    def offer(self, item: T) -> bool:
        """Enqueue ``item`` without waiting; False (and counted) when it was dropped."""
        if not self._threads:
            self._start()
        with self._lock:
            self._offered += 1
            if self._closed:
                self._dropped += 1
                return False
        try:
            self._items.put_nowait(item)
        except queue.Full:
            with self._lock:
                self._dropped += 1
            return False
        return True

    def stats(self) -> QueueStats:
        with self._lock:
            return QueueStats(
                self._offered, self._dropped, self._done, self._failed, self._items.qsize()
            )

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every enqueued item was processed; False when ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._items.all_tasks_done:
                if not self._items.unfinished_tasks:
                    return True
                self._items.all_tasks_done.wait(min(0.05, max(deadline - time.monotonic(), 0)))
        return False

    def close(self, timeout: float = 30.0) -> bool:
        """Process what is queued (up to ``timeout``), then stop the workers and wait
        for them to end, so a closed router leaves no thread behind."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
        drained = self.drain(timeout)
        if not drained:
            return False  # the daemon threads end with the process
        for _ in self._threads:  # each worker takes one, making room for the next
            try:
                self._items.put(_STOP, timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Full:
                break
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0.0))
        return True

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            for index in range(self._workers):
                thread = threading.Thread(
                    target=self._run, name=f"costrouter-shadow-{index}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _run(self) -> None:
        while (item := self._items.get()) is not _STOP:
            failed = False
            try:
                self._process(item)  # type: ignore[arg-type]
            except Exception as error:
                failed = True
                warnings.warn(
                    f"shadow evaluation failed ({type(error).__name__}: {error}); "
                    "the sample is counted as failed",
                    BackendUnavailableWarning,
                    stacklevel=1,
                )
            with self._lock:  # counted before task_done: drain() then sees the count
                self._failed += failed
                self._done += not failed
            self._items.task_done()
        self._items.task_done()
