"""The index worker in a forked child (gunicorn --preload, multiprocessing's fork).

The child gets a copy of the parent's memory but none of its threads: a worker thread
the parent started, the merge it was running and the usearch lock it held are copies
of things nobody in the child will ever finish.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from langchain_costrouter.cache import MemoryBackend, ResponseCache, semantic_ann
from langchain_costrouter.cache.semantic_home import home_for
from tests.unit_tests.cache.support import fill_shops, request, semantic_cache, shop_question

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform"),
]
SIZE, ENTRIES = 2048, 1_000  # 2.05M floats: past an exact scan, so a merge is scheduled


def full_partition() -> ResponseCache:
    """A new store's partition, grown past an exact scan and looked up (merge scheduled)."""
    cache = semantic_cache(MemoryBackend(max_entries=10_000), SIZE)
    fill_shops(cache, range(ENTRIES))
    cache.lookup(request("Tell me: " + shop_question(3)))
    return cache


def merged(cache: ResponseCache) -> bool:
    """Whether the partition's merge finished (within 60 s) and left a base."""
    if not cache.wait_for_semantic_index(60):
        return False
    cache.lookup(request("Tell me: " + shop_question(3)))  # reschedules a merge not done
    if not cache.wait_for_semantic_index(60):
        return False
    assert cache.semantic is not None
    question = request(shop_question(3))
    partition = cache.semantic.partition(question, cache.normalization_for(question))
    return home_for(cache.backend).load(partition) is not None


def in_child(check: Callable[[], int]) -> int:
    """Fork, run ``check`` in the child and return its exit code (1 if it raised)."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            code = check()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def exits_at_once() -> bool:
    """Whether the exit hook that stops graph building returns at once."""
    started = time.monotonic()
    semantic_ann._stop_adding()
    return time.monotonic() - started < 5


def test_a_child_forked_after_a_merge_merges_its_own_partitions() -> None:
    assert merged(full_partition())  # the parent's worker thread is running

    def check() -> int:
        return 0 if merged(full_partition()) else 2

    assert in_child(check) == 0


def test_a_child_forked_during_a_merge_merges_and_exits_at_once() -> None:
    # The parent's worker is inside a merge of the partition, waiting to add to its graph,
    # when the process forks: the child has the merge's claim, its future and the
    # graph lock as copies that nobody there will ever release.
    semantic_ann._ADDING.acquire()
    try:
        cache = full_partition()
        assert cache.semantic is not None
        question = request(shop_question(3))
        partition = cache.semantic.partition(question, cache.normalization_for(question))
        home = home_for(cache.backend)
        deadline = time.monotonic() + 30
        while partition not in home._merging and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # past the claim, into the graph build

        def check() -> int:
            if not merged(cache):  # the parent's interrupted merge is redone here
                return 2
            if not merged(full_partition()):
                return 3
            return 0 if exits_at_once() else 4

        assert in_child(check) == 0
    finally:
        semantic_ann._ADDING.release()
    assert merged(cache)  # the parent's own merge goes on
