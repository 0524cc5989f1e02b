"""The semantic layer on this machine's Redis and on diskcache, shared by processes.

What a shared store adds: lines any writer may leave in a partition, expiry of the
answers the vectors point at, and several processes appending, merging and searching
one partition at once.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import redis

from langchain_costrouter.cache import (
    CacheBackend,
    ResponseCache,
    SemanticLayer,
    open_backend,
    open_cache,
    semantic_base,
    semantic_view,
)
from langchain_costrouter.cache.semantic_home import home_for
from langchain_costrouter.errors import BackendUnavailableWarning
from tests.unit_tests.cache.support import (
    BagOfWordsEmbeddings,
    answer,
    fill_shops,
    request,
    semantic_cache,
    shop_answer,
    shop_question,
)

pytestmark = pytest.mark.services
SIZE = 2048  # 1,000 rows are past an exact scan: processes merge while others append


@pytest.fixture(params=["redis", "diskcache"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store several processes share: a Redis prefix or a diskcache directory."""
    if request.param == "diskcache":
        yield f"diskcache://{tmp_path / 'cache'}"
    else:
        yield request.getfixturevalue("prefixed_url")


def test_an_expired_answer_is_never_served_through_its_vector(shared_url: str) -> None:
    backend = open_backend(shared_url)[0]
    layer = SemanticLayer(BagOfWordsEmbeddings(), threshold=0.8)
    cache = ResponseCache(backend, ttl=0.3, semantic=layer)
    cache.store(request("What is the capital city of France?"), answer())
    hit = cache.lookup_hit(request("Tell me: what is the capital city of France?"))
    assert hit is not None and hit.kind == "semantic"
    time.sleep(0.5)
    assert cache.lookup(request("Tell me: what is the capital city of France?")) is None


def _index_rows(backend: CacheBackend, partition: str) -> int:
    base = home_for(backend).load(partition)
    return 0 if base is None else len(base)


def test_expired_vectors_leave_the_list_the_index_and_its_file(
    shared_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a TTL the answers expired but their vectors stayed: the list and the base
    # grew for ever in a long-running app, and each lookup ranked more dead rows.
    monkeypatch.setattr(semantic_view, "EXACT_SCAN_FLOATS", 64 * 40)  # a base from 40 rows
    monkeypatch.setattr(semantic_base, "EXACT_SCAN_FLOATS", 64 * 40)
    backend = open_backend(shared_url)[0]
    layer = SemanticLayer(BagOfWordsEmbeddings(64), threshold=0.8)
    cache = ResponseCache(backend, ttl=1.5, semantic=layer)
    fill_shops(cache, range(100))
    first = request("Tell me: " + shop_question(5))
    partition = layer.partition(first, cache.normalization_for(first))
    assert cache.lookup(first) == shop_answer(5)
    assert cache.wait_for_semantic_index(60)
    assert cache.lookup(first) == shop_answer(5)
    assert (len(backend.read_list(partition)), _index_rows(backend, partition)) == (100, 100)
    time.sleep(1.6)  # every answer expired
    cache.store(request(shop_question(1000)), shop_answer(1000))  # a write trims the list
    assert len(backend.read_list(partition)) == 1
    assert backend.list_length(partition) == 101  # positions never move
    assert cache.lookup(first) is None
    assert cache.lookup(request("Tell me: " + shop_question(1000))) == shop_answer(1000)
    assert cache.wait_for_semantic_index(60)  # the base is rebuilt without its dead rows
    assert _index_rows(backend, partition) <= 1
    fresh = ResponseCache(open_backend(shared_url)[0], semantic=layer)
    assert fresh.lookup(request("Tell me: " + shop_question(1000))) == shop_answer(1000)
    assert fresh.lookup(first) is None


def test_a_base_half_dead_is_rebuilt_and_every_reader_goes_on_reading(
    shared_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic_view, "EXACT_SCAN_FLOATS", 64 * 40)
    monkeypatch.setattr(semantic_base, "EXACT_SCAN_FLOATS", 64 * 40)
    backend = open_backend(shared_url)[0]
    layer = SemanticLayer(BagOfWordsEmbeddings(64), threshold=0.8)
    fill_shops(ResponseCache(backend, ttl=1.5, semantic=layer), range(100))
    cache = ResponseCache(backend, semantic=layer)  # no TTL: these stay
    fill_shops(cache, range(100, 110))
    other = ResponseCache(open_backend(shared_url)[0], semantic=layer)  # another reader
    first = request("Tell me: " + shop_question(5))
    partition = layer.partition(first, cache.normalization_for(first))
    assert cache.lookup(first) == shop_answer(5)
    assert cache.wait_for_semantic_index(60)
    assert other.lookup(first) == shop_answer(5)
    assert _index_rows(backend, partition) == 110
    time.sleep(1.6)
    cache.store(request(shop_question(110)), shop_answer(110))
    assert len(backend.read_list(partition)) == 11  # the 100 expired ones trimmed
    assert cache.lookup(first) is None
    assert cache.wait_for_semantic_index(60)
    assert _index_rows(backend, partition) == 11  # rebuilt without the dead rows
    for reader in (other, cache, ResponseCache(open_backend(shared_url)[0], semantic=layer)):
        for n in (5, 104, 110):
            expected = shop_answer(n) if n >= 100 else None
            assert reader.lookup(request("Tell me: " + shop_question(n))) == expected


def test_a_foreign_line_in_a_redis_partition_is_skipped_with_a_warning(
    prefixed_url: str, redis_url: str
) -> None:
    cache = open_cache(prefixed_url, semantic=SemanticLayer(BagOfWordsEmbeddings(), threshold=0.8))
    paris = request("What is the capital city of France?")
    cache.store(paris, answer())
    assert cache.semantic is not None
    partition = cache.semantic.partition(paris, cache.normalization_for(paris))
    prefix = prefixed_url.split("prefix=")[1]
    client = redis.Redis.from_url(redis_url)
    client.rpush(prefix + partition, b'{"k": "' + cache.key(paris).encode() + b'", "t": "x"}')
    client.rpush(prefix + partition, b"\x80\x04\x95 a pickle")
    with pytest.warns(BackendUnavailableWarning, match="2 semantic entries"):
        hit = cache.lookup_hit(request("Tell me: what is the capital city of France?"))
    assert hit is not None and hit.message == answer()


def store_and_look_up(url: str, worker: int, workers: int, total: int, start_at: float) -> str:
    """One of several processes: store its share of questions, look up earlier ones."""
    cache = semantic_cache(url, SIZE)
    rng = random.Random(worker)
    time.sleep(max(0.0, start_at - time.time()))
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(worker, total, workers):
            cache.store(request(shop_question(n)), shop_answer(n))
            asked = rng.randrange(n + 1)
            hit = cache.lookup(request("Tell me: " + shop_question(asked)))
            if hit is not None and hit != shop_answer(asked):
                problems.append(f"asked {asked}, got {hit.text}")
        if not cache.wait_for_semantic_index(120):
            problems.append("merges still running after 120 s")
    problems += [str(w.message) for w in caught]
    return "; ".join(problems)


def test_processes_sharing_a_partition_never_serve_a_wrong_or_torn_entry(
    shared_url: str,
) -> None:
    workers, total = 3, 1_500
    spawned = multiprocessing.get_context("spawn")
    start_at = time.time() + 3
    with ProcessPoolExecutor(workers, mp_context=spawned) as pool:
        jobs = [
            pool.submit(store_and_look_up, shared_url, worker, workers, total, start_at)
            for worker in range(workers)
        ]
        assert [job.result() for job in jobs] == [""] * workers
    reader = semantic_cache(shared_url, SIZE)
    for n in random.Random(9).sample(range(total), 60):
        assert reader.lookup(request("Tell me: " + shop_question(n))) == shop_answer(n)
