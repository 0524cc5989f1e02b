"""A Redis or Postgres budget store whose connections carry a name, counted on the server.

Redis names a connection by ``CLIENT SETNAME`` (redis-py's ``client_name`` option),
Postgres by ``application_name``: the server's own list of connections (``CLIENT LIST``,
``pg_stat_activity``) then tells how many of the store's connections are open, the
blocking client's and every event loop's async client's alike.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import sqlalchemy as sa

from langchain_costrouter.ledger.engine import sqlalchemy_url
from tests.services import delete_redis_prefix, drop_tables


@dataclass(frozen=True)
class NamedStore:
    """A store URL whose connections are named ``name`` on the server at ``server``."""

    url: str
    server: str
    name: str

    def connections(self) -> int:
        """How many connections of this store the server holds now."""
        if self.server.startswith("redis"):
            client = redis.Redis.from_url(self.server)
            try:
                return sum(1 for c in client.client_list() if c.get("name") == self.name)
            finally:
                client.close()
        engine = sa.create_engine(sqlalchemy_url(self.server), poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                return int(conn.execute(sa.text(query), {"name": self.name}).scalar_one())
        finally:
            engine.dispose()

    def closed(self, within: float = 2.0) -> bool:
        """Whether the server holds none of them, given ``within`` seconds to notice a
        connection its client closed (the server ends its session after reading EOF)."""
        deadline = time.monotonic() + within
        while self.connections():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


def named_store(kind: str, request: pytest.FixtureRequest) -> Iterator[NamedStore]:
    """A ``kind`` ("redis" or "postgres") store of its own prefix and connection name;
    its keys or tables are removed after the test."""
    token = uuid.uuid4().hex[:12]
    name = f"costrouter-test-{token}"
    if kind == "redis":
        server = request.getfixturevalue("redis_url")
        prefix = f"costrouter-test:{token}:"
        yield NamedStore(f"{server}?client_name={name}&prefix={prefix}", server, name)
        delete_redis_prefix(server, prefix)
    else:
        server = request.getfixturevalue("postgres_url")
        prefix = f"t{token}_"
        yield NamedStore(f"{server}?application_name={name}&prefix={prefix}", server, name)
        drop_tables(server, prefix)
