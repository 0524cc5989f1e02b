"""The prefix-cache rule, as a function and as applied by the compressor."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage

from langchain_costrouter.compression import (
    PrefixCachePolicy,
    PromptCompressor,
    prefix_compression_pays,
)
from langchain_costrouter.compression.scripted import ScriptedCompressorModel

HOT_CACHE = PrefixCachePolicy(input_price=0.25, cached_input_price=0.025, cache_hit_rate=0.9)


def test_a_stable_compression_keeps_its_cache_hits_and_pays() -> None:
    assert prefix_compression_pays(
        2000, 400, input_price=1.0, cached_input_price=0.1, cache_hit_rate=0.9
    )


def test_an_unstable_compression_of_a_hot_prefix_does_not_pay() -> None:
    # 400 uncached tokens cost more than 2,000 tokens at 90% hits and a 90% discount (380).
    assert not prefix_compression_pays(
        2000,
        400,
        input_price=1.0,
        cached_input_price=0.1,
        cache_hit_rate=0.9,
        compressed_cache_hit_rate=0.0,
    )
    assert prefix_compression_pays(
        2000,
        300,
        input_price=1.0,
        cached_input_price=0.1,
        cache_hit_rate=0.9,
        compressed_cache_hit_rate=0.0,
    )


def test_no_saving_never_pays() -> None:
    assert not prefix_compression_pays(
        500, 500, input_price=1.0, cached_input_price=1.0, cache_hit_rate=0.0
    )


def test_without_a_memo_a_hot_system_prefix_stays_uncompressed(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    compressor = PromptCompressor(summariser, prefix_cache=HOT_CACHE)
    messages = [SystemMessage(bloated_prompt), HumanMessage(bloated_prompt)]
    result = compressor.compress_messages(messages)

    assert result.messages[0].text == bloated_prompt
    assert "message 0: prefix-cache rule" in str(result.fallback_reason)
    assert len(result.messages[1].text) < len(bloated_prompt)  # not a cached prefix


def test_with_a_memo_the_same_prefix_is_compressed(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    compressor = PromptCompressor(summariser, cache={}, prefix_cache=HOT_CACHE)
    result = compressor.compress_messages([SystemMessage(bloated_prompt)])

    assert result.fallback_reason is None
    assert result.tokens_after < result.tokens_before
