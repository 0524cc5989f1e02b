"""The shadow queue never blocks the caller: a full queue drops the sample and counts it."""

from __future__ import annotations

import threading

import pytest

from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.shadow.queue import SampleQueue


def test_a_full_queue_drops_and_counts() -> None:
    release = threading.Event()
    started = threading.Event()
    seen: list[int] = []

    def process(item: int) -> None:
        started.set()
        release.wait(5)
        seen.append(item)

    queue: SampleQueue[int] = SampleQueue(process, maxsize=2, workers=1)
    assert queue.offer(0)
    assert started.wait(5)  # the worker holds item 0; two places are left
    results = [queue.offer(item) for item in range(1, 6)]
    assert results == [True, True, False, False, False]
    stats = queue.stats()
    assert (stats.offered, stats.dropped, stats.waiting) == (6, 3, 2)
    release.set()
    assert queue.drain(5)
    assert seen == [0, 1, 2]
    assert queue.stats().done == 3
    assert queue.close(5)


def test_a_failing_job_is_counted_and_the_worker_goes_on(
    recwarn: pytest.WarningsRecorder,
) -> None:
    done: list[int] = []

    def process(item: int) -> None:
        if item == 1:
            raise RuntimeError("provider down")
        done.append(item)

    queue: SampleQueue[int] = SampleQueue(process, maxsize=10)
    for item in range(3):
        queue.offer(item)
    assert queue.drain(5)
    warned = [w for w in recwarn if issubclass(w.category, BackendUnavailableWarning)]
    assert len(warned) == 1 and "provider down" in str(warned[0].message)
    stats = queue.stats()
    assert (stats.done, stats.failed, done) == (2, 1, [0, 2])


def test_nothing_starts_until_the_first_sample_and_a_closed_queue_drops() -> None:
    queue: SampleQueue[int] = SampleQueue(lambda item: None, maxsize=1)
    assert queue._threads == []
    assert queue.close(1)
    assert not queue.offer(1)
    assert queue.stats().dropped == 1
