"""CostRouterLLMCache entries copied under another prompt's key: a warned miss, never served.

The adapter behind ``set_llm_cache`` shares its store (a Redis, a diskcache directory)
with whoever else can write there: a faulty copy or restore can leave prompt A's valid
entry under prompt B's key. The model must then answer B from the provider, with one
`BackendUnavailableWarning`, and the entry written over the bad one, as the router's own
cache does (tests/integration_tests/cache/test_redis_poisoned.py).
"""

from __future__ import annotations

import sqlite3
import warnings
from contextlib import closing
from pathlib import Path

import pytest
import redis

from langchain_costrouter.cache import CostRouterLLMCache
from langchain_costrouter.cache.disk import DiskBackend
from langchain_costrouter.cache.memory import MemoryBackend
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.services


class _Store:
    """The entries of one backend as an outside tool sees them: keys, and bytes copied."""

    def __init__(self, url: str, cache: CostRouterLLMCache, redis_url: str) -> None:
        self.url, self.cache = url, cache
        self.client = redis.Redis.from_url(redis_url)

    def keys(self) -> set[str]:
        if self.url.startswith("redis"):
            prefix = self.url.split("prefix=")[1]
            names = [
                n if isinstance(n, str) else n.decode() for n in self.client.keys(prefix + "lc:*")
            ]
            return {name[len(prefix) :] for name in names}
        if isinstance(self.cache.backend, MemoryBackend):
            return set(self.cache.backend._entries)
        with closing(self._database()) as database:
            return {row[0] for row in database.execute("SELECT key FROM Cache")}

    def copy(self, source: str, target: str) -> None:
        """Write ``source``'s stored bytes under ``target``, past the adapter."""
        if self.url.startswith("redis"):
            prefix = self.url.split("prefix=")[1]
            self.client.set(prefix + target, self.client.get(prefix + source) or b"")
        elif isinstance(self.cache.backend, MemoryBackend):
            self.cache.backend.set(target, self.cache.backend.get(source) or b"", None)
        else:
            with closing(self._database()) as database, database:
                database.execute(
                    "UPDATE Cache SET value = (SELECT value FROM Cache WHERE key = ?) "
                    "WHERE key = ?",
                    (source, target),
                )

    def _database(self) -> sqlite3.Connection:
        assert isinstance(self.cache.backend, DiskBackend)
        self.cache.backend.flush()  # the entries the write-behind thread still holds
        return sqlite3.connect(Path(self.url.removeprefix("diskcache://")) / "cache.db")


def test_another_prompts_entry_under_a_key_is_a_warned_miss(
    cache_url: str, redis_url: str, openai_server: LocalOpenAIServer
) -> None:
    # Before: 'Paris.' came back for 'Capital of Italy?' with no warning, from every backend.
    openai_server.script([Reply("Paris."), Reply("Rome."), Reply("Rome again.")])
    cache = CostRouterLLMCache.from_url(cache_url)
    model = openai_chat(openai_server, "gpt-4o-mini", cache=cache)
    store = _Store(cache_url, cache, redis_url)
    model.invoke("Capital of France?")
    (france,) = store.keys()
    model.invoke("Capital of Italy?")
    (italy,) = store.keys() - {france}
    store.copy(france, italy)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = model.invoke("Capital of Italy?")

    assert message.content == "Rome again."
    assert [w.category for w in caught] == [BackendUnavailableWarning]
    assert "another key" in str(caught[0].message)
    assert openai_server.request_count() == 3
    assert model.invoke("Capital of Italy?").content == "Rome again."  # stored over it
    assert model.invoke("Capital of France?").content == "Paris."  # the source untouched
    assert openai_server.request_count() == 3
