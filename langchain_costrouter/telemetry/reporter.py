"""One worker thread per process that turns finished calls into spans and metrics.

Making a call's spans and metrics costs the SDK a hundred microseconds or more of
Python (span objects, attribute checks, aggregation keys); done on the request path
that is several percent of a fast call (bench/otel.py). The spans carry the times
noted while the call ran, so nothing is lost by making them a moment later: the
request path hands the finished call over (one queue put) and this worker reports it.
`flush` waits until everything handed over so far is reported: tests and short scripts
call it before reading what was exported, and it runs at interpreter exit.

After each round of reports the worker lingers for ``LINGER_S`` before it takes the
next one, so the calls that end meanwhile are reported in one round: the request
path's queue put then wakes no thread, and the worker pays one wake-up per round
instead of one per call (a thread wake-up and the GIL hand-off that follows cost a few
tens of microseconds of CPU, as much as a call's metrics). When the worker falls far
behind (more than ``MAX_PENDING`` calls), calls are reported on the request path
instead, so memory stays bounded.

A child made by ``fork()`` starts with an empty queue and no worker: the calls waiting
at the fork are the parent's, which reports them; a copy would report them once more
from every child (gunicorn --preload forks right after the app's warm-up calls).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable

MAX_PENDING = 10_000
LINGER_S = 0.02
"""How long the worker lets finished calls gather between rounds (`flush` cuts it short)."""
Job = Callable[[], object]

_log = logging.getLogger(__name__)


class Reporter:
    """A queue of report jobs and the daemon thread that runs them."""

    def __init__(self) -> None:
        self._start_empty()
        _REPORTERS.add(self)

    def _start_empty(self) -> None:
        """No job and no worker (a new reporter, or a forked child's copy)."""
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._warned = False

    def submit(self, job: Job) -> None:
        """Run ``job`` on the worker (or here, when the worker is far behind or cannot
        be started)."""
        if self._jobs.qsize() > MAX_PENDING:
            _run(job)
            return
        thread = self._thread
        if (thread is None or not thread.is_alive()) and not self._start():
            _run(job)  # no worker (no thread to be had): the caller reports, never fails
            return
        self._jobs.put(job)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every job submitted so far has run; False if ``timeout`` passed."""
        if self._thread is None:
            return True
        done = threading.Event()
        self.submit(done.set)
        self._wake.set()
        return done.wait(timeout)

    def _start(self) -> bool:
        """Start the worker (first use, or a forked child); False when no thread can be
        started: the process is at its thread limit, or shutting down."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return True
            thread = threading.Thread(target=self._work, name="costrouter-telemetry", daemon=True)
            try:
                thread.start()
            except RuntimeError as error:  # "can't start new thread"
                if not self._warned:  # once: it is tried again on every call
                    self._warned = True
                    _log.warning("costrouter telemetry reports on the caller's thread: %s", error)
                return False
            self._thread = thread
            return True

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            _run(jobs.get())  # sleeps until a call ends
            while not jobs.empty():  # one round: everything that ended meanwhile
                _run(jobs.get())
            self._wake.wait(LINGER_S)
            self._wake.clear()


_REPORTERS: weakref.WeakSet[Reporter] = weakref.WeakSet()


def _forget_parent_jobs_in_child() -> None:
    for reporter in list(_REPORTERS):
        reporter._start_empty()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=_forget_parent_jobs_in_child)


def _run(job: Job) -> None:
    try:
        job()
    except Exception:  # a telemetry bug must never reach a caller, nor stop the worker
        _log.exception("costrouter telemetry failed to report a call")


REPORTER = Reporter()
atexit.register(REPORTER.flush, 2.0)


def flush(timeout: float = 5.0) -> bool:
    """Report every routed call that has ended so far; False if ``timeout`` passed first."""
    return REPORTER.flush(timeout)
