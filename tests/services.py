"""Reach the Redis and Postgres servers of this machine, or skip (or fail) visibly.

Tests that need a service skip with the reason when it is unreachable, and fail
instead when ``COSTROUTER_REQUIRE_SERVICES=1`` (set by ``.ci/run``), so CI can never
pass by skipping them.

The servers are shared with other engineers' test runs, so every test writes under a
prefix or namespace of its own and removes what it wrote: the helpers below delete a
Redis key prefix, a ledger namespace's rows or a table prefix's tables.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from langchain_costrouter.ledger.engine import sqlalchemy_url

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "COSTROUTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def services_required() -> bool:
    return os.environ.get("COSTROUTER_REQUIRE_SERVICES") == "1"


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), 1.0):
            return True
    except OSError:
        return False


def require(url: str, name: str) -> str:
    """Return ``url`` when the service answers; skip or fail otherwise."""
    if reachable(url):
        return url
    reason = f"{name} is not reachable at {url}"
    if services_required():
        pytest.fail(f"{reason} and COSTROUTER_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


def delete_redis_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (SCAN, so a large database is not blocked)."""
    import redis  # only tests that reach Redis pay for importing its client

    client = redis.Redis.from_url(url)
    try:
        for batch in _batches(client.scan_iter(match=f"{prefix}*", count=500), 500):
            client.delete(*batch)
    finally:
        client.close()


def drop_tables(url: str, prefix: str) -> None:
    """Drop the tables whose names start with ``prefix`` (a test's own ledger tables)."""
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine, only=lambda name, _: name.startswith(prefix))
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def _batches(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
