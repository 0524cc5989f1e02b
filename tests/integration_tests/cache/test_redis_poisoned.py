"""Poisoned entries in a shared Redis cache: each is a miss with a warning, never served.

Whoever can write to the Redis a cache shares can leave anything under its keys: a value
of another Redis type, truncated bytes, a pickle, a huge value, or the valid entry of
another prompt (copied, or restored from another key by a faulty tool). The router must
answer from the provider then, with one `BackendUnavailableWarning`, never crash nor
serve another prompt's answer, and store its answer over the bad one (a bad entry is no
outage: the cache stays on).
"""

from __future__ import annotations

import asyncio
import pickle
import time
import warnings
from collections.abc import Callable

import pytest
import redis

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.cache import open_cache
from langchain_costrouter.cache.coalesce import Coalescer
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

pytestmark = [
    pytest.mark.services,
    pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.UnknownPriceWarning"),
]

Poison = Callable[[redis.Redis, bytes | str, bytes | str], object]
"""Writes a bad value under the second prompt's key (client, that key, the first's)."""

POISONS: dict[str, Poison] = {
    "another prompt's valid entry": lambda c, key, other: c.set(key, c.get(other) or b""),
    "truncated": lambda c, key, other: c.set(key, (c.get(key) or b"")[:40]),
    "pickle": lambda c, key, other: c.set(key, pickle.dumps({"v": 1, "type": "ai"})),
    "a list": lambda c, key, other: (c.delete(key), c.rpush(key, b"x")),
    "a hash": lambda c, key, other: (c.delete(key), c.hset(key, "v", "1")),
    "huge": lambda c, key, other: c.set(key, b"[" + b" " * 20_000_000),
}


@pytest.mark.parametrize("poison", POISONS, ids=list(POISONS))
def test_a_poisoned_entry_is_a_warned_miss(
    poison: str, prefixed_url: str, redis_url: str, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("Paris."), Reply("Rome."), Reply("Rome again.")])
    router = RoutedChatModel(
        routes={"chat": [openai_chat(openai_server)]}, cache=prefixed_url, ledger="memory://"
    )
    client = redis.Redis.from_url(redis_url)
    prefix = prefixed_url.split("prefix=")[1]
    router.invoke("Capital of France?")
    (first,) = client.keys(prefix + "*")
    router.invoke("Capital of Italy?")
    (second,) = set(client.keys(prefix + "*")) - {first}
    POISONS[poison](client, second, first)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = router.invoke("Capital of Italy?")

    assert message.content == "Rome again."
    assert message.response_metadata["costrouter"]["cache_hit"] is False
    assert [w.category for w in caught] == [BackendUnavailableWarning]
    assert openai_server.request_count() == 3
    again = router.invoke("Capital of Italy?")  # the entry was replaced, the cache not paused
    assert again.content == "Rome again."
    assert again.response_metadata["costrouter"]["cache_hit"] is True


@pytest.mark.parametrize("use_async", [False, True], ids=["hold", "ahold"])
def test_a_follower_polling_a_poisoned_key_is_released_not_crashed(
    use_async: bool, prefixed_url: str, redis_url: str
) -> None:
    # Another process leads the key (its lock is taken); meanwhile the key itself holds
    # a hash. The follower polls the key for the leader's answer: that bad entry ends
    # its wait (it looks the key up again and calls the provider), it raises nothing.
    cache = open_cache(prefixed_url, lock_timeout=5)
    client = redis.Redis.from_url(redis_url)
    prefix = prefixed_url.split("prefix=")[1]
    client.set(prefix + "lock:v2:" + "a" * 64, "another process", px=10_000)
    client.hset(prefix + "v2:" + "a" * 64, "v", "1")
    coalescer = cache._coalescer
    started = time.monotonic()
    try:
        _follow(coalescer, use_async)
    finally:
        client.delete(prefix + "v2:" + "a" * 64)  # clear() leaves a hash: not its type
    assert time.monotonic() - started < 2


def _follow(coalescer: Coalescer, use_async: bool) -> None:
    if use_async:

        async def follow() -> bool:
            async with coalescer.ahold("v2:" + "a" * 64) as leader:
                return leader

        assert asyncio.run(follow()) is False
    else:
        with coalescer.hold("v2:" + "a" * 64) as leader:
            assert leader is False
