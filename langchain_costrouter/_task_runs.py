"""Which asyncio task each open model run started in, so a run cancelled unseen is not lost.

langchain-core reports neither an end nor an error of a chat model's ``ainvoke`` whose
task is cancelled while the provider answers: ``BaseChatModel.agenerate`` is cancelled
inside its ``asyncio.gather``, before it would call ``on_llm_error``. A callback handler
that waits for the end event would keep such a run open for ever and never record a
call whose prompt the provider had received. `TaskRuns` hands the handler the runs a
cancelled task leaves open.

A task that ends otherwise with a run open is not the run's end: a chain's ``astream``
pulls each chunk in a task of its own, so the run goes on in the next one (and
langchain-core reports a stream's cancellation itself). Those runs are only forgotten.
A bare ``ainvoke`` whose cancellation its task swallows (``asyncio.timeout`` since
Python 3.12, an anyio cancel scope) is therefore still left unrecorded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

Task = asyncio.Task[Any]


class TaskRuns:
    """Open runs by the asyncio task they started in, with one done callback per task.

    A run started outside a running event loop (a blocking call, a worker thread) is
    not watched: langchain-core reports every end of those. A task's callback is
    removed as its last open run ends, so a long-lived task (a queue consumer making
    call after call) holds none, and a run is forgotten as soon as it ends.
    """

    def __init__(self, abandoned: Callable[[list[UUID]], None]) -> None:
        """Args:
        abandoned: Called, on the event loop, with the runs a cancelled task left open.
        """
        self._abandoned = abandoned
        self._runs: dict[Task, set[UUID]] = {}
        self._tasks: dict[UUID, Task] = {}
        self._lock = threading.Lock()

    def started(self, run_id: UUID) -> None:
        """Watch ``run_id`` if it starts inside a running task."""
        task = _current_task()
        if task is None:
            return
        with self._lock:
            runs = self._runs.get(task)
            if runs is None:
                runs = self._runs[task] = set()
                task.add_done_callback(self._task_done)
            runs.add(run_id)
            self._tasks[run_id] = task

    def ended(self, run_id: UUID) -> None:
        """Stop watching a run whose end (or error) was reported."""
        if not self._tasks:  # no run in a task: blocking code pays no lock
            return
        with self._lock:
            task = self._tasks.pop(run_id, None)
            if task is None:
                return
            runs = self._runs[task]
            runs.discard(run_id)
            if not runs:
                del self._runs[task]
                task.remove_done_callback(self._task_done)

    def _task_done(self, task: Task) -> None:
        with self._lock:
            left = self._runs.pop(task, set())
            for run_id in left:
                del self._tasks[run_id]
        if left and task.cancelled():
            self._abandoned(list(left))


def _current_task() -> Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop runs in this thread
        return None
