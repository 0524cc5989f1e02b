"""Redis `clear()` removes exactly its own cache's keys, whatever the neighbours' prefixes.

Against this machine's Redis; each test writes under a base prefix of its own and
deletes it afterwards (`tests/services.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from langchain_core.outputs import Generation

from langchain_costrouter.cache import CostRouterLLMCache, ResponseCache, SemanticLayer, open_cache
from tests.services import delete_redis_prefix
from tests.unit_tests.cache.support import BagOfWordsEmbeddings, answer, request

pytestmark = pytest.mark.services

# (a cache's prefix, a neighbour's prefix that starts with it): the shapes users pick.
_NESTED_PREFIXES = [
    ("app", "app2"),
    ("app:", "app:2:"),
    ("team:a:", "team:a:b:"),
    ("costrouter:cache:", "costrouter:cache:staging:"),
    ("t[ab]?", "t[ab]?*"),
]


@pytest.fixture
def base(redis_url: str) -> Iterator[str]:
    """A prefix of this test's own under which both caches live."""
    base = f"costrouter-test:{uuid.uuid4().hex}:"
    yield base
    delete_redis_prefix(redis_url, base)


def _keys(redis_url: str, start: str) -> set[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return {k for k in client.scan_iter(count=500) if k.startswith(start.encode())}
    finally:
        client.close()


def _fill(url: str) -> ResponseCache:
    """A cache holding one of each kind of key: answers, a vector list and the count of
    its values trimmed, a lock, a LangChain entry."""
    cache = open_cache(url, semantic=SemanticLayer(BagOfWordsEmbeddings(), threshold=0.8))
    first = request("How tall is the Eiffel tower?")
    cache.store(first, answer("330 m"))
    cache.store(request("What is the capital city of France?"), answer("Paris."))
    assert cache.semantic is not None
    cache.backend.trim_list(cache.semantic.partition(first, cache.normalization_for(first)), 1)
    assert cache.backend.try_lock(cache.key(request("held")), 60, "token")
    CostRouterLLMCache.from_url(url).update("prompt", "llm", [Generation(text="hello")])
    return cache


@pytest.mark.parametrize(("short", "long"), _NESTED_PREFIXES)
@pytest.mark.parametrize("cleared", ["short", "long"])
def test_clear_keeps_the_keys_of_a_cache_whose_prefix_extends_its_own(
    redis_url: str, base: str, short: str, long: str, cleared: str
) -> None:
    urls = {
        "short": f"{redis_url}?prefix={base}{short}",
        "long": f"{redis_url}?prefix={base}{long}",
    }
    caches = {name: _fill(url) for name, url in urls.items()}
    everything = _keys(redis_url, base)
    long_keys = _keys(redis_url, base + long)
    own = {"short": everything - long_keys, "long": long_keys}
    # two answers, the vectors and their trimmed count, a lock, a LangChain entry
    assert len(own["short"]) == len(own["long"]) == 6
    kept = "long" if cleared == "short" else "short"

    caches[cleared].clear()

    assert _keys(redis_url, base) == own[kept]
    question = request("Tell me: what is the capital city of France?")
    assert caches[kept].lookup(question) == answer("Paris.")
    assert caches[cleared].lookup(question) is None
    lc_kept = CostRouterLLMCache.from_url(urls[kept]).lookup("prompt", "llm")
    assert lc_kept == [Generation(text="hello")]
    assert CostRouterLLMCache.from_url(urls[cleared]).lookup("prompt", "llm") is None


def test_clear_removes_the_entries_of_earlier_key_versions(redis_url: str, base: str) -> None:
    # Entries written under older KEY_VERSIONs (v1 keys, lc:v1, sem:v1) are this cache's
    # too: clear() must not leave them behind, they would never expire without a ttl.
    client = redis.Redis.from_url(redis_url)
    digest = "0123456789abcdef" * 4
    for name in (f"v1:{digest}", f"lc:v1:{digest}", f"lock:v1:{digest}"):
        client.set(f"{base}{name}", b"{}")
    client.rpush(f"{base}sem:v1:{digest}", b"vector")
    cache = open_cache(f"{redis_url}?prefix={base}")
    cache.store(request(), answer())
    (key,) = _keys(redis_url, base + "v2:")
    assert key == f"{base}{cache.key(request())}".encode()  # the layout entries are found by

    cache.clear()

    assert _keys(redis_url, base) == set()
    client.close()
