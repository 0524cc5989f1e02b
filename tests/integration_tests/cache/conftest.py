"""Fixtures of the cache tests: a URL per backend, Redis under a prefix of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from langchain_costrouter.cache import open_cache


@pytest.fixture
def prefixed_url(redis_url: str) -> Iterator[str]:
    """A Redis URL with a prefix of its own; only that prefix is removed afterwards."""
    prefix = f"costrouter-test:{uuid.uuid4().hex}:"
    url = f"{redis_url}?prefix={prefix}"
    yield url
    open_cache(url).clear()
    assert not redis.Redis.from_url(redis_url).keys(prefix + "*")


@pytest.fixture(params=["memory", "diskcache", "redis"])
def cache_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One URL per backend; the Redis one under a prefix of its own (cleared after)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "diskcache":
        return f"diskcache://{tmp_path}"
    url: str = request.getfixturevalue("prefixed_url")
    return url
