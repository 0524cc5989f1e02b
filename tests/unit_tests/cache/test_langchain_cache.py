"""CostRouterLLMCache: the same backends behind LangChain's own cache hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.caches import BaseCache, InMemoryCache
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_costrouter.cache import CostRouterLLMCache, MemoryBackend
from langchain_costrouter.errors import BackendUnavailableWarning
from tests.unit_tests.cache.support import tool_calling_model


@pytest.mark.parametrize("url", ["memory://", "diskcache://{tmp}"])
def test_a_plain_model_hits_with_tool_calls_intact(url: str, tmp_path: Path) -> None:
    cache = CostRouterLLMCache.from_url(url.format(tmp=tmp_path))
    model = tool_calling_model(cache)
    first = model.invoke("Weather in Oslo?")
    second = model.invoke("Weather in Oslo?")
    assert model.calls == 1
    assert second.tool_calls == first.tool_calls
    assert second.content == first.content
    assert second.usage_metadata is not None
    assert second.usage_metadata["total_tokens"] == 12


def _stored_generation() -> ChatGeneration:
    """A provider's answer with every message field a chat model fills in set."""
    message = AIMessage(
        "Calling a tool.",
        id="chatcmpl-abc123",
        name="assistant",
        tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1"}],
        invalid_tool_calls=[{"name": "x", "args": "{", "id": "call_2", "error": "bad JSON"}],
        usage_metadata={"input_tokens": 9, "output_tokens": 3, "total_tokens": 12},
        response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "tool_calls"},
        additional_kwargs={"refusal": None},
    )
    return ChatGeneration(message=message, generation_info={"finish_reason": "tool_calls"})


@pytest.mark.parametrize("url", ["memory://", "diskcache://{tmp}"])
async def test_a_hit_is_the_stored_generation_as_langchains_own_cache_returns_it(
    url: str, tmp_path: Path
) -> None:
    theirs, ours = InMemoryCache(), CostRouterLLMCache.from_url(url.format(tmp=tmp_path))
    for cache in (theirs, ours):
        cache.update("prompt", "llm", [_stored_generation()])
    expected = theirs.lookup("prompt", "llm")
    assert expected == [_stored_generation()]  # the message id included
    assert ours.lookup("prompt", "llm") == expected
    assert await ours.alookup("prompt", "llm") == expected


@pytest.mark.parametrize("make_cache", [InMemoryCache, lambda: CostRouterLLMCache(MemoryBackend())])
def test_a_plain_model_hit_keeps_the_message_id(make_cache: Callable[[], BaseCache]) -> None:
    # langchain-core serves a hit as stored, id included (it gives a fresh run id only
    # to an answer the model made): the same for InMemoryCache and this adapter.
    model = tool_calling_model(make_cache())
    first, second = model.invoke("Weather in Oslo?"), model.invoke("Weather in Oslo?")
    assert model.calls == 1
    assert first.id is not None
    assert second.id == first.id


async def test_async_path_and_a_second_model_share_entries(tmp_path: Path) -> None:
    cache = CostRouterLLMCache.from_url(f"diskcache://{tmp_path}")
    await tool_calling_model(cache).ainvoke("Hi")
    other = tool_calling_model(CostRouterLLMCache.from_url(f"diskcache://{tmp_path}"))
    await other.ainvoke("Hi")
    assert other.calls == 0


def test_text_generations_and_clear() -> None:
    cache = CostRouterLLMCache(MemoryBackend())
    cache.update("prompt", "llm", [Generation(text="hello", generation_info={"a": 1})])
    assert cache.lookup("prompt", "llm") == [Generation(text="hello", generation_info={"a": 1})]
    assert cache.lookup("prompt", "other llm") is None
    cache.clear()
    assert cache.lookup("prompt", "llm") is None


def test_prompts_any_str_can_hold_are_keyed() -> None:
    cache = CostRouterLLMCache(MemoryBackend())
    for prompt in ("naïve café", "lone surrogate \ud800"):
        cache.update(prompt, "llm", [Generation(text=prompt)])
        assert cache.lookup(prompt, "llm") == [Generation(text=prompt)]


def test_corrupt_values_are_misses_with_a_warning() -> None:
    backend = MemoryBackend()
    cache = CostRouterLLMCache(backend)
    cache.update("prompt", "llm", [Generation(text="hello")])
    (key,) = list(backend._entries)
    entry = {"k": key, "generations": [{"message": {"v": 1, "type": "ai", "data": []}}]}
    backend.set(key, json.dumps(entry).encode(), None)
    with pytest.warns(BackendUnavailableWarning, match="could not be decoded"):
        assert cache.lookup("prompt", "llm") is None


@pytest.mark.parametrize("use_async", [False, True], ids=["lookup", "alookup"])
async def test_an_entry_naming_no_key_or_another_is_a_warned_miss_and_removed(
    use_async: bool,
) -> None:
    # A bare list is how entries were written before they named their key: it cannot be
    # told from another prompt's answer copied there, so neither is served.
    backend = MemoryBackend()
    cache = CostRouterLLMCache(backend)
    cache.update("other", "llm", [Generation(text="other answer")])
    (other,) = list(backend._entries)
    cache.update("prompt", "llm", [Generation(text="hello")])
    (key,) = set(backend._entries) - {other}
    unnamed = json.dumps([{"info": None, "text": "hello"}]).encode()
    for value in (unnamed, backend.get(other) or b""):
        backend.set(key, value, None)
        with pytest.warns(BackendUnavailableWarning, match="written for another key"):
            found = (
                await cache.alookup("prompt", "llm") if use_async else cache.lookup("prompt", "llm")
            )
        assert found is None
        assert backend.get(key) is None
    assert cache.lookup("other", "llm") == [Generation(text="other answer")]
