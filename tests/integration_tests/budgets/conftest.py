"""Budget stores of every kind, each under a prefix of its own, cleaned up after the test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from langchain_costrouter.budgets import open_store
from langchain_costrouter.budgets.sql_store import SQLStore


def store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a store no other test (or other engineer's run) shares."""
    token = uuid.uuid4().hex[:12]
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'budgets.sqlite'}"
    if kind == "redis":
        return f"{request.getfixturevalue('redis_url')}?prefix=costrouter-test:{token}:"
    return f"{request.getfixturevalue('postgres_url')}?prefix=t{token}_"


def clean_up(url: str) -> None:
    """Delete what the test wrote: the prefix's Redis keys, or the prefix's tables."""
    if url.startswith("redis"):
        base, prefix = url.split("?prefix=")
        client = redis.Redis.from_url(base)
        names = list(client.scan_iter(match=prefix + "*", count=1000))
        if names:
            client.delete(*names)
        assert not list(client.scan_iter(match=prefix + "*"))
        client.close()
    elif url.startswith("postgresql"):
        store = open_store(url)
        assert isinstance(store, SQLStore)
        store.drop_tables()
        store.close()


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store that processes share: SQLite, Redis, Postgres."""
    url = store_url(request.param, request, tmp_path)
    yield url
    clean_up(url)


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = store_url(request.param, request, tmp_path)
    yield url
    clean_up(url)
