"""The prefix-cache rule: never trade a provider cache discount for a smaller saving.

Providers bill a repeated prompt prefix at a discount when it is served from their cache
(OpenAI cached input, Anthropic ``cache_control`` reads): often 10% of the input price. A
leading system prompt is exactly such a prefix. Compressing it pays only if the compressed
prefix costs less per request than the cached original does:

    cost(tokens, hit_rate) = tokens * (hit_rate * cached_price + (1 - hit_rate) * input_price)
    compress  <=>  cost(tokens_after, compressed_hit_rate) < cost(tokens_before, cache_hit_rate)

The compressed text keeps the original's hit rate when it is byte-stable: memoised in a
cache store, or produced by the deterministic strategy alone. A non-memoised LLM compression
can differ between processes, so it is assumed never to hit (rate 0). Example: 2,000 tokens
cut to 400 at a 90% hit rate and cached input at 10% of the price cost 400 vs 380 token-prices
per request without a memo (do not compress), and 76 vs 380 with one (compress).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrefixCachePolicy:
    """How the target model bills a cached prompt prefix.

    Attributes:
        input_price: Price of an uncached input token (any unit, e.g. $ per 1M tokens).
        cached_input_price: Price of an input token read from the provider cache, same unit.
        cache_hit_rate: Expected share of requests whose prefix is served from the cache.
    """

    input_price: float
    cached_input_price: float
    cache_hit_rate: float


def expected_prefix_cost(
    tokens: int, *, input_price: float, cached_input_price: float, cache_hit_rate: float
) -> float:
    """Expected cost of sending a prefix of ``tokens`` once, given the cache hit rate."""
    blended = cache_hit_rate * cached_input_price + (1 - cache_hit_rate) * input_price
    return tokens * blended


def prefix_compression_pays(
    tokens_before: int,
    tokens_after: int,
    *,
    input_price: float,
    cached_input_price: float,
    cache_hit_rate: float,
    compressed_cache_hit_rate: float | None = None,
) -> bool:
    """Whether sending the compressed prefix is cheaper per request than the original.

    Args:
        tokens_before: Tokens of the original prefix.
        tokens_after: Tokens of the compressed prefix.
        input_price: Price of an uncached input token.
        cached_input_price: Price of a cached input token.
        cache_hit_rate: Expected hit rate of the original prefix.
        compressed_cache_hit_rate: Expected hit rate of the compressed prefix; defaults to
            ``cache_hit_rate`` (a byte-stable compression keeps hitting).
    """
    after_rate = cache_hit_rate if compressed_cache_hit_rate is None else compressed_cache_hit_rate
    before = expected_prefix_cost(
        tokens_before,
        input_price=input_price,
        cached_input_price=cached_input_price,
        cache_hit_rate=cache_hit_rate,
    )
    after = expected_prefix_cost(
        tokens_after,
        input_price=input_price,
        cached_input_price=cached_input_price,
        cache_hit_rate=after_rate,
    )
    return after < before
