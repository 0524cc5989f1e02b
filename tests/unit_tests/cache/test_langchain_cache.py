"""CostRouterLLMCache: the same backends behind LangChain's own cache hook."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.outputs import Generation

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
    backend.set(key, b'[{"message": {"v": 1, "type": "ai", "data": []}}]', None)
    with pytest.warns(BackendUnavailableWarning, match="could not be decoded"):
        assert cache.lookup("prompt", "llm") is None
