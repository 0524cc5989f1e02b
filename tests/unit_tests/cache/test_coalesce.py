"""Coalescing: N concurrent identical misses make one provider call."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from langchain_costrouter.cache import MemoryBackend, ResponseCache, open_cache
from tests.unit_tests.cache.support import (
    answer,
    cached_or_called,
    calls,
    counted_call,
    process_worker,
    request,
)


def test_threads_make_one_call(tmp_path: Path) -> None:
    cache = open_cache("memory://")
    counter = tmp_path / "calls"
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: cached_or_called(cache, request(), counter), range(20)))
    assert calls(counter) == 1
    assert all(r == answer() for r in results)


async def acached_or_called(cache: ResponseCache, counter: Path) -> str:
    req = request()
    hit = await cache.alookup(req)
    if hit is None:
        async with cache.acoalesce(req):
            hit = await cache.alookup(req)
            if hit is None:
                hit = await asyncio.to_thread(counted_call, counter, 0.2)
                await cache.astore(req, hit)
    return hit.text


async def test_asyncio_tasks_and_threads_together_make_one_call(tmp_path: Path) -> None:
    cache = open_cache("memory://")
    counter = tmp_path / "calls"
    tasks = [acached_or_called(cache, counter) for _ in range(30)]
    threads = [asyncio.to_thread(cached_or_called, cache, request(), counter) for _ in range(4)]
    results = await asyncio.gather(*tasks, *threads)
    assert calls(counter) == 1
    assert len(results) == 34


def test_followers_proceed_when_the_leader_fails(tmp_path: Path) -> None:
    cache = open_cache("memory://")
    counter = tmp_path / "calls"

    def failing_leader() -> None:
        with cache.coalesce(request()) as leader:
            assert leader
            time.sleep(0.2)
            raise RuntimeError("provider down")

    with ThreadPoolExecutor(2) as pool:
        failed = pool.submit(failing_leader)
        time.sleep(0.05)
        follower = pool.submit(cached_or_called, cache, request(), counter)
        with pytest.raises(RuntimeError):
            failed.result()
        assert follower.result() == answer()
    assert calls(counter) == 1


def _hold_lock_in_another_process(url: str, name: str) -> subprocess.Popen[str]:
    """A process that takes the coalescing lock of ``name`` and then hangs."""
    script = (
        "import sys\n"
        "from langchain_costrouter.cache import open_cache\n"
        f"cache = open_cache({url!r})\n"  # kept: a freed cache lets its locks go
        f"assert cache.backend.try_lock({name!r}, 60, 'other')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_hung_lock_holder_is_waited_for_only_until_the_lock_timeout(tmp_path: Path) -> None:
    url = f"diskcache://{tmp_path}"
    cache = open_cache(url, lock_timeout=0.3)
    holder = _hold_lock_in_another_process(url, cache.key(request()))
    try:
        started = time.monotonic()
        with cache.coalesce(request()) as leader:
            waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert not leader
    assert 0.2 < waited < 2


async def test_an_async_caller_waits_for_a_lock_holder_elsewhere_then_follows(
    tmp_path: Path,
) -> None:
    url = f"diskcache://{tmp_path}"
    cache = open_cache(url, lock_timeout=0.3)
    assert cache.inline  # the lock is tried without a coroutine; the wait is awaited
    holder = _hold_lock_in_another_process(url, cache.key(request()))
    ticks: list[float] = []
    ticker = asyncio.create_task(_tick(ticks))
    try:
        started = time.monotonic()
        async with cache.acoalesce(request()) as leader:
            waited = time.monotonic() - started
    finally:
        ticker.cancel()
        holder.kill()
        holder.wait()
    assert not leader
    assert 0.2 < waited < 2
    assert len(ticks) >= 5  # the event loop kept running while the follower waited


async def test_an_async_leader_holds_the_store_lock_until_its_answer_is_committed(
    tmp_path: Path,
) -> None:
    cache = open_cache(f"diskcache://{tmp_path}")
    name = cache.key(request())
    async with cache.acoalesce(request()) as leader:
        assert leader
        assert cache.backend.is_locked(name)
        await cache.astore(request(), answer())
    cache.backend.flush()  # type: ignore[attr-defined]
    assert not cache.backend.is_locked(name)
    assert (await cache.alookup(request())) is not None


async def _tick(ticks: list[float]) -> None:
    """Note the time every 20 ms, for as long as the event loop lets this task run."""
    while True:
        await asyncio.sleep(0.02)
        ticks.append(time.monotonic())


def test_a_killed_lock_holder_releases_its_lock_at_once(tmp_path: Path) -> None:
    url = f"diskcache://{tmp_path}"
    cache = open_cache(url, lock_timeout=30)
    name = cache.key(request())
    holder = _hold_lock_in_another_process(url, name)
    assert cache.backend.is_locked(name)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert not cache.backend.is_locked(name)
    started = time.monotonic()
    with cache.coalesce(request()) as leader:
        assert leader
    assert time.monotonic() - started < 5  # not the 30 s lock timeout


def test_disabled_tasks_are_not_coalesced() -> None:
    cache = ResponseCache(open_cache("memory://").backend, disabled_tasks={"chat"})
    with cache.coalesce(request()) as first, cache.coalesce(request()) as second:
        assert first
        assert second


def test_100_requests_across_4_processes_make_one_call(tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    url = f"diskcache://{tmp_path / 'cache'}"
    start_at = time.time() + 1  # forked workers start in milliseconds
    with ProcessPoolExecutor(4, mp_context=get_context("fork")) as pool:
        served = list(
            pool.map(process_worker, [url] * 4, [str(counter)] * 4, [start_at] * 4, [25] * 4)
        )
    assert served == [25, 25, 25, 25]
    assert calls(counter) == 1


async def test_a_follower_cancelled_while_waiting_leaves_the_flight(tmp_path: Path) -> None:
    cache = open_cache(f"diskcache://{tmp_path}")
    leading = cache.acoalesce(request())
    assert await leading.__aenter__() is True
    follower = asyncio.create_task(_follow(cache))
    await asyncio.sleep(0.05)  # the follower polls the leader's flight
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    await leading.__aexit__(None, None, None)
    assert cache._coalescer._flights == {}  # nobody left behind in the key's flight
    async with cache.acoalesce(request()) as leader:  # the next caller leads at once
        assert leader is True
    with cache.coalesce(request()) as leader:
        assert leader is True


async def _follow(cache: ResponseCache) -> None:
    async with cache.acoalesce(request()):
        pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_does_not_wait_for_its_parents_flights() -> None:
    # A worker forked (gunicorn --preload) while a thread of the parent led a call: the
    # child's copy of the flight said a thread that does not exist there led it, so the
    # child's same request waited out the lock timeout (30 s by default) as a follower.
    cache = ResponseCache(MemoryBackend(), lock_timeout=2)
    leading, finish = threading.Event(), threading.Event()

    def parent_leader() -> None:
        with cache.coalesce(request()) as leader:
            assert leader
            leading.set()
            finish.wait(10)

    thread = threading.Thread(target=parent_leader)
    thread.start()
    assert leading.wait(10)
    try:
        child = os.fork()
        if child == 0:  # the child: exit 0 only if it leads its own request
            with cache.coalesce(request()) as leader:
                os._exit(0 if leader else 1)
        _, status = os.waitpid(child, 0)
    finally:
        finish.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
