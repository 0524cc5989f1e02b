"""Which asyncio task each open model run started in, so a run cancelled unseen is not lost.

langchain-core reports neither an end nor an error of a chat model's ``ainvoke`` whose
task is cancelled while the provider answers: ``BaseChatModel.agenerate`` is cancelled
inside its ``asyncio.gather``, before it would call ``on_llm_error``. A callback handler
that waits for the end event would keep such a run open for ever and never record a
call whose prompt the provider had received. `TaskRuns` hands the handler the runs a
cancelled task leaves open.

A task that ends otherwise with a run open is not the run's end: a chain's ``astream``
pulls each chunk in a task of its own, so the run goes on in the next one (and
langchain-core reports a stream's cancellation itself). And a cancellation the task
swallows (``asyncio.timeout``, an anyio cancel scope, ``except CancelledError``) leaves
no cancelled task at all. So a run opened by a coroutine (``agenerate``: not a stream's
generator) is also followed through its task's suspensions (`_Watch`): once that
coroutine has left the task's await chain with the run still open, nothing will report
the run, and it is handed over as cancelled (docs/architecture.md 3.9).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any
from uuid import UUID

Task = asyncio.Task[Any]

_DISPATCH = "langchain_core.callbacks"
"""The module of langchain-core's event dispatch, whose coroutines call a handler."""
_ASYNC = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_GENERATOR
_UNKNOWN = object()


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
        self._watches: dict[UUID, _Watch] = {}
        self._lock = threading.Lock()

    def started(self, run_id: UUID) -> None:
        """Watch ``run_id`` if it starts inside a running task (called from its start
        event, so that the coroutine that opened it is on the stack)."""
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
        opener = _opener(sys._getframe(1))
        if opener is not None:
            watch = self._watches[run_id] = _Watch(run_id, task, opener, self._follow)
            task.get_loop().call_soon(self._follow, watch)

    def ended(self, run_id: UUID) -> None:
        """Stop watching a run whose end (or error) was reported."""
        if not self._tasks and not self._watches:  # blocking code pays no lock
            return
        with self._lock:
            watch = self._watches.pop(run_id, None)
            task = self._tasks.pop(run_id, None)
            if task is not None:
                runs = self._runs[task]
                runs.discard(run_id)
                if not runs:
                    del self._runs[task]
                    task.remove_done_callback(self._task_done)
        if watch is not None:
            watch.unhook()

    def _follow(self, watch: _Watch) -> None:
        """Check a watched run's opener whenever its task has moved on (or ended)."""
        if self._watches.get(watch.run_id) is not watch:  # the run ended meanwhile
            return
        left = False
        if _awaits(watch.task, watch.opener):
            watch.seen = True
            if watch.wait():
                return
        else:  # the opener is gone with the run open: nothing will report it
            left = watch.seen
        with self._lock:
            self._watches.pop(watch.run_id, None)
        if left:
            self._abandoned([watch.run_id])

    def _task_done(self, task: Task) -> None:
        with self._lock:
            left = self._runs.pop(task, set())
            for run_id in left:
                del self._tasks[run_id]
        if left and task.cancelled():
            self._abandoned(list(left))


class _Watch:
    """A run followed through its task's suspensions, by the coroutine that opened it.

    asyncio says nothing public of when a suspended task resumes, so the future it waits
    for (``Task._fut_waiter``, in both of CPython's implementations) is hooked; a task
    without one is not followed, and only its cancellation counts (`TaskRuns`).
    """

    def __init__(
        self, run_id: UUID, task: Task, opener: FrameType, follow: Callable[[_Watch], None]
    ) -> None:
        self.run_id = run_id
        self.task = task
        self.opener = opener
        self.seen = False  # found suspended in its task: a coroutine this can follow
        self._follow = follow
        self._waiting: asyncio.Future[Any] | None = None

    def wait(self) -> bool:
        """Follow again once the task has moved on; False when that cannot be known."""
        waiting = getattr(self.task, "_fut_waiter", _UNKNOWN)
        if isinstance(waiting, asyncio.Future):
            self._waiting = waiting
            waiting.add_done_callback(self._woken)
            return True
        if waiting is None:  # not waiting: it runs again at once
            self.task.get_loop().call_soon(self._follow, self)
            return True
        return False

    def unhook(self) -> None:
        if self._waiting is not None:
            self._waiting.remove_done_callback(self._woken)
            self._waiting = None

    def _woken(self, _future: asyncio.Future[Any]) -> None:
        self._waiting = None
        self._follow(self)


def _opener(frame: FrameType | None) -> FrameType | None:
    """The coroutine that opened the run whose start event is being handled: the first
    coroutine or generator frame out of langchain-core's dispatch, if a coroutine.

    A stream's generator is not followed: langchain-core reports its end, error or
    cancellation itself, and the task it runs in may change at every chunk.
    """
    while frame is not None:
        flags = frame.f_code.co_flags
        if flags & _ASYNC and not frame.f_globals.get("__name__", "").startswith(_DISPATCH):
            return frame if flags & inspect.CO_COROUTINE else None
        frame = frame.f_back
    return None


def _awaits(task: Task, frame: FrameType) -> bool:
    """Whether the coroutine running ``frame`` is in ``task``'s chain of awaits."""
    awaited: Any = task.get_coro()
    while awaited is not None:
        if getattr(awaited, "cr_frame", None) is frame:
            return True
        awaited = getattr(awaited, "cr_await", None)
    return False


def _current_task() -> Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop runs in this thread
        return None
