"""Tests that write to the shared Redis and Postgres leave nothing behind.

The tests that write there run in a child pytest pointed at a Postgres database and a
Redis database of this test's own, so whatever they leave is theirs alone: afterwards
the ledger table must hold no row and Redis no key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from langchain_costrouter.ledger.engine import sqlalchemy_url

pytestmark = pytest.mark.services

REPO = Path(__file__).parents[2]
# The writers: the router's ledger on Postgres, the router's cache shared through Redis.
WRITERS = [
    "tests/integration_tests/test_router_ledger.py::test_exact_dollars_for_invoke_stream_and_cache_hit[postgres]",
    "tests/integration_tests/test_router_cache_processes.py::test_second_process_hits[redis]",
]
REDIS_DB = 13  # not the default database other test runs use


@pytest.fixture
def own_database(postgres_url: str) -> Iterator[str]:
    """A Postgres database created for this test and dropped after it."""
    name = f"costrouter_cleanup_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sqlalchemy_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield str(sa.make_url(sqlalchemy_url(postgres_url)).set(database=name).render_as_string(False))
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def own_redis(redis_url: str) -> Iterator[str]:
    """A Redis database of its own; keys a failed run left in it are deleted after."""
    url = str(redis_url).rsplit("/", 1)[0] + f"/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    before = set(client.scan_iter(match="costrouter-test*"))
    yield url
    left = set(client.scan_iter(match="costrouter-test*")) - before
    if left:
        client.delete(*left)
    client.close()


def test_service_tests_delete_what_they_write(own_database: str, own_redis: str) -> None:
    client = redis.Redis.from_url(own_redis)
    before = set(client.scan_iter(match="costrouter-test*"))
    env = {
        **os.environ,
        "COSTROUTER_TEST_POSTGRES_URL": own_database,
        "REDIS_URL": own_redis,
        "COSTROUTER_REQUIRE_SERVICES": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",  # two tests: not worth the workers
            *WRITERS,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout
    assert set(client.scan_iter(match="costrouter-test*")) - before == set()
    engine = sa.create_engine(own_database)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        counts = {
            t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}" WHERE true')).scalar()
            for t in tables
            if t.endswith("ledger")
        }
    engine.dispose()
    assert counts == {}  # the ledger test dropped its own tables
