"""Fixtures of the Redis cache tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
