"""The Redis backend against this machine's Redis: sharing, expiry, coalescing, outages."""

from __future__ import annotations

import json
import multiprocessing
import stat
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest
import redis
from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
from langchain_costrouter.cache import ResponseCache, SemanticLayer, open_backend, open_cache
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.router._identity import route_identity
from langchain_costrouter.routes import Route
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat
from tests.unit_tests.cache.support import (
    BagOfWordsEmbeddings,
    answer,
    calls,
    fill_shops,
    lookup_shops_in_fresh_process,
    process_worker,
    request,
    semantic_cache,
    shop_answer,
    shop_question,
)

pytestmark = pytest.mark.services


def test_entries_are_json_under_the_prefix_with_expiry(prefixed_url: str, redis_url: str) -> None:
    cache = open_cache(prefixed_url, ttl=60)
    cache.store(request(), answer())
    assert cache.lookup(request()) == answer()
    client = redis.Redis.from_url(redis_url)
    prefix = prefixed_url.split("prefix=")[1]
    (name,) = client.keys(prefix + "*")
    stored = json.loads(client.get(name))
    assert stored["v"] == 1 and stored["data"]["content"] == "Paris."
    assert 0 < client.pttl(name) <= 60_000


def test_ttl_expires_in_redis(prefixed_url: str) -> None:
    cache = open_cache(prefixed_url, ttl=0.1)
    cache.store(request(), answer())
    time.sleep(0.2)
    assert cache.lookup(request()) is None


def test_a_trimmed_list_keeps_its_positions_for_every_reader(
    prefixed_url: str, redis_url: str
) -> None:
    writer, reader = open_backend(prefixed_url)[0], open_backend(prefixed_url)[0]
    partition = "sem:v2:" + "ab" * 32
    for i in range(1_203):  # more than two pages of a read
        writer.append(partition, b"v%d" % i)
    assert len(reader.read_positioned(partition)) == 1_203  # nothing trimmed, it has seen
    writer.trim_list(partition, 1_000)
    writer.trim_list(partition, 600)  # a slower process trimming less: nothing more
    # The reader's page starts where its old count of trimmed values says: it sees the
    # count changed and asks again, never labelling a value with another's position.
    assert reader.read_positioned(partition, 1_201) == [(1_201, b"v1201"), (1_202, b"v1202")]
    assert reader.list_bounds(partition) == (1_000, 1_203)
    assert reader.list_length(partition) == 1_203
    assert reader.read_positioned(partition, 1_201) == [(1_201, b"v1201"), (1_202, b"v1202")]
    assert reader.read_positioned(partition, 5)[:1] == [(1_000, b"v1000")]
    assert len(reader.read_list(partition)) == 203
    prefix = prefixed_url.split("prefix=")[1]
    assert redis.Redis.from_url(redis_url).llen(prefix + partition) == 203
    writer.trim_list(partition, 2_000)  # all of it: the count of trimmed values stays
    writer.append(partition, b"next")
    assert reader.read_positioned(partition) == [(1_203, b"next")]
    writer.clear()  # the count goes too (the fixture checks that no key is left)
    assert reader.list_bounds(partition) == (0, 0)


def test_clear_touches_only_its_prefix(prefixed_url: str, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    neighbour = f"costrouter-test:neighbour:{uuid.uuid4().hex}"
    client.set(neighbour, b"keep", px=60_000)
    cache = open_cache(prefixed_url)
    cache.store(request(), answer())
    cache.clear()
    assert cache.lookup(request()) is None
    assert client.get(neighbour) == b"keep"
    client.delete(neighbour)


def test_clear_keeps_a_budget_store_whose_prefix_extends_the_caches(redis_url: str) -> None:
    prefix = f"costrouter-test:{uuid.uuid4().hex}:"
    budgets = [Budget(name="day", limit_usd="1", period="day", soft_threshold=None)]
    gate = BudgetGate(budgets, f"{redis_url}?prefix={prefix}budgets:")
    context = CallContext("chat", {})
    gate.reserve(context, "d", Decimal("0.5"))
    cache = open_cache(f"{redis_url}?prefix={prefix}")
    cache.store(request(), answer())
    cache.clear()
    assert cache.lookup(request()) is None
    (status,) = gate.status(context)
    assert status.reserved_usd == Decimal("0.5")  # the cache's clear left the budget's spend
    client = redis.Redis.from_url(redis_url)
    client.delete(*client.keys(prefix + "*"))


def test_unreachable_redis_is_a_miss_with_one_warning() -> None:
    cache = open_cache("redis://127.0.0.1:1/0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        missed = cache.lookup(request())
        cache.store(request(), answer())
        with cache.coalesce(request()) as leader:
            pass
    assert missed is None
    assert leader
    assert [w.category for w in caught] == [BackendUnavailableWarning]
    assert "Redis" in str(caught[0].message)


async def test_unreachable_redis_async_is_a_miss() -> None:
    cache = open_cache("redis://127.0.0.1:1/0")
    with pytest.warns(BackendUnavailableWarning):
        assert await cache.alookup(request()) is None


def _store_in_child(url: str) -> None:
    open_cache(url).store(request(), answer("From the child."))


def test_a_second_process_hits(prefixed_url: str) -> None:
    child = multiprocessing.get_context("spawn").Process(
        target=_store_in_child, args=(prefixed_url,)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    hit = open_cache(prefixed_url).lookup(request())
    assert hit is not None
    assert hit.content == "From the child."


def test_100_requests_across_4_processes_make_one_call(prefixed_url: str, tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    start_at = time.time() + 1
    with ProcessPoolExecutor(4, mp_context=get_context("fork")) as pool:
        served = list(
            pool.map(
                process_worker, [prefixed_url] * 4, [str(counter)] * 4, [start_at] * 4, [25] * 4
            )
        )
    assert served == [25, 25, 25, 25]
    assert calls(counter) == 1


async def test_async_followers_wait_for_a_leader_in_another_cache(prefixed_url: str) -> None:
    leader_cache, follower_cache = open_cache(prefixed_url), open_cache(prefixed_url)
    async with leader_cache.acoalesce(request()) as leader:
        assert leader
        assert leader_cache.backend.is_locked(leader_cache.key(request()))
        leader_cache.store(request(), answer())
    async with follower_cache.acoalesce(request()) as second:
        assert second  # the lock was released: a new flight, answered by the lookup
    assert await follower_cache.alookup(request()) == answer()


def test_a_dead_holder_releases_the_others_when_its_lock_expires(prefixed_url: str) -> None:
    cache: ResponseCache = open_cache(prefixed_url, lock_timeout=5)
    cache.backend.try_lock(cache.key(request()), 0.3, "a-process-that-died")
    started = time.monotonic()
    with cache.coalesce(request()) as leader:
        waited = time.monotonic() - started
    assert not leader
    assert 0.2 < waited < 2


async def test_semantic_entries_are_shared_and_read_incrementally(prefixed_url: str) -> None:
    def semantic_cache() -> ResponseCache:
        return open_cache(
            prefixed_url, semantic=SemanticLayer(BagOfWordsEmbeddings(), threshold=0.8)
        )

    writer, reader = semantic_cache(), semantic_cache()
    writer.store(request("What is the capital city of France?"), answer("Paris."))
    paris = reader.lookup(request("Tell me: what is the capital city of France?"))
    assert paris == answer("Paris.")
    await writer.astore(request("How tall is the Eiffel tower?"), answer("330 m"))
    hit = await reader.alookup(request("Tell me: how tall is the Eiffel tower?"))
    assert hit is not None
    assert hit.content == "330 m"


@pytest.mark.slow
def test_a_large_semantic_partition_is_indexed_on_each_machine(prefixed_url: str) -> None:
    entries, size = 8_000, 256  # past an exact scan's budget: a base with a graph
    fill_shops(semantic_cache(prefixed_url, size), range(entries))
    reader = semantic_cache(prefixed_url, size)
    assert reader.lookup(request("Tell me: " + shop_question(5))) == shop_answer(5)
    assert reader.wait_for_semantic_index(300)
    directory = reader.backend.index_directory()
    assert directory is not None
    (path,) = directory.glob("*.base")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "127.0.0.1" not in str(directory)
    assert prefixed_url.split("prefix=")[1] not in str(directory)
    fill_shops(semantic_cache(prefixed_url, size), range(entries, entries + 2))
    with get_context("spawn").Pool(1) as pool:
        answers = pool.apply(lookup_shops_in_fresh_process, (prefixed_url, [17, entries + 1], size))
    assert answers == ["Shop 17 opens at nine.", f"Shop {entries + 1} opens at nine."]
    assert reader.lookup(request("Tell me: " + shop_question(entries))) == shop_answer(entries)
    open_cache(prefixed_url).clear()
    assert not directory.exists()


def test_a_route_on_another_model_or_temperature_is_not_served_its_answers(
    prefixed_url: str, openai_server: LocalOpenAIServer
) -> None:
    # Two deployments of one app (or one app before and after its route changed) share
    # the Redis cache under the same task label: an answer of gpt-4o-mini at
    # temperature 1 must not be replayed to a route now serving gpt-4o, nor at 0.
    openai_server.script([Reply("mini says")], model="gpt-4o-mini")
    openai_server.script([Reply("4o says"), Reply("4o cold says")], model="gpt-4o")

    def answer(model: str, **params: Any) -> tuple[str, bool]:
        child = openai_chat(openai_server, model, **params)
        router = RoutedChatModel(
            routes={"chat": [child]}, default_task="chat", cache=prefixed_url, ledger="memory://"
        )
        message = router.invoke("Which model are you?")
        return str(message.content), message.response_metadata["costrouter"]["cache_hit"]

    assert answer("gpt-4o-mini", temperature=1) == ("mini says", False)
    assert answer("gpt-4o-mini", temperature=1) == ("mini says", True)  # still cached
    assert answer("gpt-4o", temperature=1) == ("4o says", False)
    assert answer("gpt-4o", temperature=0) == ("4o cold says", False)
    assert openai_server.request_count() == 3


def test_a_route_on_another_endpoint_is_not_served_its_answers(
    prefixed_url: str, openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    # The same model name on two OpenAI-compatible endpoints (a self-hosted llama-3-8b
    # and a hosted one, or a config whose provider moved to another base_url): each
    # endpoint answers for itself, and the password in a proxy's URL stays out of the key.
    openai_server.set_responder(lambda body: Reply("endpoint one says"))
    second_openai_server.set_responder(lambda body: Reply("endpoint two says"))

    def answer(server: LocalOpenAIServer) -> tuple[str, bool]:
        child = openai_chat(server, "llama-3-8b")
        router = RoutedChatModel(
            routes={"chat": [child]}, default_task="chat", cache=prefixed_url, ledger="memory://"
        )
        message = router.invoke("Which endpoint are you?")
        return str(message.content), message.response_metadata["costrouter"]["cache_hit"]

    one, two = openai_server, second_openai_server
    assert answer(one) == ("endpoint one says", False)
    assert answer(two) == ("endpoint two says", False)
    assert answer(one) == ("endpoint one says", True)
    assert answer(two) == ("endpoint two says", True)
    with_password = one.base_url.replace("http://", "http://user:s3cret@") + "?api-key=s3cret"
    assert route_identity_of(with_password) == route_identity_of(one.base_url)


def route_identity_of(base_url: str) -> str:
    """The route identity of a one-model route on ``base_url`` (no request is made)."""
    child = ChatOpenAI(model="llama-3-8b", base_url=base_url, api_key="test", max_retries=0)
    return route_identity(Route.of([child], task="chat"))
