"""The telemetry worker: every job runs, in order, off the caller's thread; flush waits."""

from __future__ import annotations

import os
import threading
import time
from functools import partial

import pytest

from langchain_costrouter.telemetry import reporter
from langchain_costrouter.telemetry.reporter import Reporter


def test_jobs_run_in_order_on_the_worker_and_flush_waits_for_them() -> None:
    worker = Reporter()
    ran: list[tuple[int, int]] = []

    def note(index: int) -> None:
        ran.append((index, threading.get_ident()))

    for index in range(200):
        worker.submit(partial(note, index))
    assert worker.flush(timeout=5.0)
    assert [index for index, _ in ran] == list(range(200))
    assert {thread for _, thread in ran} != {threading.get_ident()}


def test_flush_cuts_the_linger_between_rounds_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporter, "LINGER_S", 30.0)
    worker = Reporter()
    first = threading.Event()
    worker.submit(first.set)
    assert first.wait(5.0)  # the worker has run its round and now lingers
    late: list[int] = []
    worker.submit(lambda: late.append(1))
    started = time.monotonic()
    assert worker.flush(timeout=10.0)
    assert late == [1] and time.monotonic() - started < 10.0


def test_a_failing_job_is_logged_and_the_worker_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Reporter()
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("telemetry bug")

    worker.submit(broken)
    worker.submit(lambda: ran.append("next"))
    assert worker.flush(timeout=5.0)
    assert ran == ["next"]
    assert "failed to report a call" in caplog.text


def test_a_worker_far_behind_has_the_caller_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporter, "MAX_PENDING", -1)  # always "far behind"
    worker = Reporter()
    ran: list[int] = []
    worker.submit(lambda: ran.append(threading.get_ident()))
    assert ran == [threading.get_ident()]


def test_a_forked_child_does_not_report_the_parent_s_calls_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call that ended just before a fork (gunicorn --preload's warm-up call) waits in
    the queue while the worker lingers; the child's copy of the queue must not hold it,
    or each worker reports the parent's call once more (its spans and its dollars)."""
    monkeypatch.setattr(reporter, "LINGER_S", 30.0)
    worker = Reporter()
    first = threading.Event()
    worker.submit(first.set)
    assert first.wait(5.0)  # the worker has run its round and now lingers
    ran: list[str] = []
    worker.submit(lambda: ran.append("parent's call"))
    child = os.fork()
    if child == 0:
        worker.submit(lambda: ran.append("child's call"))
        os._exit(0 if worker.flush(timeout=5.0) and ran == ["child's call"] else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert worker.flush(timeout=5.0) and ran == ["parent's call"]


class _NoThreads(threading.Thread):
    """What a process at its thread limit (a container's pids.max) gets, or one that is
    shutting down: ``start`` raises."""

    def start(self) -> None:
        raise RuntimeError("can't start new thread")


def test_a_worker_that_cannot_start_has_the_caller_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The call that hands its report over has ended and been recorded: telemetry must
    not turn it into an error now."""
    monkeypatch.setattr(threading, "Thread", _NoThreads)
    worker = Reporter()
    ran: list[int] = []
    worker.submit(lambda: ran.append(threading.get_ident()))
    assert ran == [threading.get_ident()]
    assert worker.flush(timeout=1.0)
