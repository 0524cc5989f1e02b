"""The per-item cache on a real Redis client, up and down.

`ItemCache` promises that a ``redis.Redis`` client works as it is; a cache that is down
must cost the run its cache only (a miss with a warning), never the answers it paid for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from langchain_openai import ChatOpenAI

from langchain_costrouter.batching import batch_classify
from langchain_costrouter.batching.testing import batch_responder
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.testing import LocalOpenAIServer
from tests.server_fixtures import dead_port
from tests.services import REDIS_URL, require

LABELS = ["spam", "ham"]
ITEMS = [f"buy {i}" if i % 2 else f"hello {i}" for i in range(6)]


def label_of(item: object) -> str:
    return "spam" if "buy" in str(item) else "ham"


@pytest.fixture
def live_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(require(REDIS_URL, "Redis"))
    before = set(client.scan_iter(match="costrouter:item:*"))
    yield client
    written = set(client.scan_iter(match="costrouter:item:*")) - before
    if written:
        client.delete(*written)
    client.close()


def test_a_redis_client_is_an_item_cache_as_it_is(
    openai_server: LocalOpenAIServer, chat: ChatOpenAI, live_redis: redis.Redis
) -> None:
    openai_server.set_responder(batch_responder(label_of))
    instruction = f"Classify each mail ({uuid.uuid4().hex})."
    first = batch_classify(ITEMS, LABELS, model=chat, cache=live_redis, instruction=instruction)
    again = batch_classify(ITEMS, LABELS, model=chat, cache=live_redis, instruction=instruction)
    assert openai_server.request_count() == 1
    assert [r.value for r in again] == [r.value for r in first] == [label_of(i) for i in ITEMS]
    assert all(r.cached for r in again)


def test_a_redis_item_cache_that_is_down_costs_the_cache_only(
    openai_server: LocalOpenAIServer, chat: ChatOpenAI
) -> None:
    """Redis down: the first read fails with one warning, and the run goes on without
    the cache (a store that times out is not asked again for every item)."""
    openai_server.set_responder(batch_responder(label_of))
    down = redis.Redis(host="127.0.0.1", port=dead_port(), socket_connect_timeout=1)
    with pytest.warns(BackendUnavailableWarning, match="Item cache") as caught:
        results = batch_classify(ITEMS, LABELS, model=chat, cache=down)
    assert [r.value for r in results] == [label_of(i) for i in ITEMS]
    assert openai_server.request_count() == 1
    (warning,) = caught
    assert "read failed" in str(warning.message)
