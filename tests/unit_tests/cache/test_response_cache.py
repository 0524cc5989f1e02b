"""ResponseCache policy: per-task switches, TTL, normalisation, copies, completeness."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from langchain_costrouter.cache import LENIENT, MemoryBackend, ResponseCache, open_cache
from langchain_costrouter.errors import ConfigError
from tests.unit_tests.cache.support import answer, request, semantic_cache


def test_miss_then_hit_returns_an_equal_fresh_copy() -> None:
    cache = open_cache("memory://")
    assert cache.lookup(request()) is None
    cache.store(request(), answer())
    first = cache.lookup(request())
    assert first == answer()
    assert first is not None
    first.content = "mutated"
    first.response_metadata["model_name"] = "mutated"
    assert cache.lookup(request()) == answer()


def test_a_different_tenant_misses() -> None:
    cache = open_cache("memory://")
    cache.store(request(namespace="tenant-a"), answer())
    assert cache.lookup(request(namespace="tenant-b")) is None


def test_disabled_tasks_are_never_cached() -> None:
    cache = ResponseCache(MemoryBackend(), disabled_tasks={"chat"})
    cache.store(request(), answer())
    assert cache.lookup(request()) is None
    only = ResponseCache(MemoryBackend(), enabled_tasks={"classification"})
    only.store(request(), answer())
    assert only.lookup(request()) is None
    only.store(request(task="classification"), answer())
    assert only.lookup(request(task="classification")) == answer()


def test_ttl_is_per_task_with_a_default() -> None:
    cache = ResponseCache(MemoryBackend(), ttl={"chat": 0.05, "*": 60})
    cache.store(request(), answer())
    cache.store(request(task="code"), answer())
    time.sleep(0.08)
    assert cache.lookup(request()) is None
    assert cache.lookup(request(task="code")) == answer()
    assert cache.ttl_for("other") == 60


@pytest.mark.parametrize("ttl", [float("inf"), float("nan"), 0, -1, {"chat": 0}, {"*": "1h"}])
def test_a_ttl_that_is_no_lifetime_is_a_config_error(ttl: object) -> None:
    with pytest.raises(ConfigError, match="ttl"):
        ResponseCache(MemoryBackend(), ttl=ttl)  # type: ignore[arg-type]


def test_normalisation_is_configurable_per_task() -> None:
    cache = ResponseCache(MemoryBackend(), normalization={"classification": LENIENT})
    cache.store(request("Is it SPAM?", task="classification"), answer("yes"))
    assert cache.lookup(request("is it  spam?", task="classification")) == answer("yes")
    cache.store(request("Is it SPAM?"), answer("yes"))
    assert cache.lookup(request("is it  spam?")) is None


def test_incomplete_answers_are_not_stored() -> None:
    cache = open_cache("memory://")
    broken = AIMessage(
        "", invalid_tool_calls=[{"name": "f", "args": "{", "id": "1", "error": "bad"}]
    )
    cache.store(request(), broken)
    cache.store(request("other"), AIMessage(""))
    assert cache.lookup(request()) is None
    assert cache.lookup(request("other")) is None


def test_tool_call_answers_round_trip_through_the_cache() -> None:
    cache = open_cache("memory://")
    message = AIMessage(
        "", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]
    )
    cache.store(request(), message)
    assert cache.lookup(request()) == message


def test_lookup_hit_tells_the_kind() -> None:
    cache = open_cache("memory://")
    cache.store(request(), answer())
    hit = cache.lookup_hit(request())
    assert hit is not None
    assert (hit.kind, hit.key) == ("exact", cache.key(request()))


async def test_async_twins() -> None:
    cache = open_cache("memory://")
    assert await cache.alookup(request()) is None
    await cache.astore(request(), answer())
    assert await cache.alookup(request()) == answer()


class _NetworkedMemory(MemoryBackend):
    """A store whose async twins do their own I/O: the cache must await them."""

    inline = False

    def __init__(self) -> None:
        super().__init__()
        self.awaited: list[str] = []

    async def aget(self, key: str) -> bytes | None:
        self.awaited.append("aget")
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        self.awaited.append("aset")
        self.set(key, value, ttl)


def test_local_stores_run_inline_and_others_do_not(tmp_path: Path) -> None:
    assert open_cache("memory://").inline
    assert open_cache(f"diskcache://{tmp_path}").inline
    assert not ResponseCache(_NetworkedMemory()).inline
    assert not semantic_cache("memory://").inline  # embedding a prompt may wait on a provider


async def test_a_store_that_is_not_inline_is_awaited() -> None:
    backend = _NetworkedMemory()
    cache = ResponseCache(backend)
    assert await cache.alookup(request()) is None
    await cache.astore(request(), answer())
    assert await cache.alookup(request()) == answer()
    assert backend.awaited == ["aget", "aset", "aget"]
