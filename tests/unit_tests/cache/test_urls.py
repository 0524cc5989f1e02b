"""Cache URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.caches import InMemoryCache

from langchain_costrouter.cache import (
    DiskBackend,
    MemoryBackend,
    ResponseCache,
    as_response_cache,
    open_cache,
)
from langchain_costrouter.cache.redis_backend import RedisBackend
from langchain_costrouter.errors import ConfigError
from tests.unit_tests.cache.support import answer, request


def test_memory_url_with_options() -> None:
    cache = open_cache("memory://?max_entries=3&ttl=5")
    assert isinstance(cache.backend, MemoryBackend)
    assert cache.backend.max_entries == 3
    assert cache.ttl_for("chat") == 5


def test_diskcache_url_takes_an_absolute_path(tmp_path: Path) -> None:
    cache = open_cache(f"diskcache://{tmp_path}/c")
    assert isinstance(cache.backend, DiskBackend)
    assert cache.backend.directory == tmp_path / "c"


def test_redis_url_keeps_prefix_out_of_the_client_url() -> None:
    cache = open_cache("redis://127.0.0.1:6399/3?prefix=app1:")
    assert isinstance(cache.backend, RedisBackend)
    assert cache.backend.prefix == "app1:"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x",
        "memory://?colour=red",
        "memory://?ttl=soon",
        # Redis raised OverflowError / ValueError at the first write, out of the routed
        # call; memory and diskcache stored entries dead on arrival for 0 and below.
        "redis://127.0.0.1:6399/0?ttl=inf",
        "redis://127.0.0.1:6399/0?ttl=nan",
        "memory://?ttl=0",
        "diskcache:///tmp/never-made?ttl=-5",
    ],
)
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        open_cache(url)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("redis://127.0.0.1:6399/0?prefx=app1:", "prefx"),
        ("redis://127.0.0.1:6399/0?socket_timeout=soon", "socket_timeout"),
    ],
)
def test_a_redis_option_the_client_does_not_take_is_a_config_error_at_once(
    url: str, named: str
) -> None:
    # redis-py accepts any query key and fails at the first command: every routed call
    # would raise a TypeError about AbstractConnection.__init__ instead.
    with pytest.raises(ConfigError) as raised:
        open_cache(url)
    assert named in str(raised.value)
    assert "prefix" in str(raised.value)  # the options the cache itself reads are named


def test_as_response_cache_accepts_every_spelling() -> None:
    cache = open_cache("memory://")
    assert as_response_cache(cache) is cache
    assert isinstance(as_response_cache(MemoryBackend()).backend, MemoryBackend)
    wrapped = as_response_cache(InMemoryCache())
    wrapped.store(request(), answer())
    assert wrapped.lookup(request()) == answer()
    assert isinstance(as_response_cache("memory://"), ResponseCache)
    with pytest.raises(TypeError, match="cache must be"):
        as_response_cache(3)  # type: ignore[arg-type]
