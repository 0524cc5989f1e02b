"""Token counts of one call, normalised from LangChain's ``UsageMetadata``.

Providers report the same facts under different shapes: OpenAI's cached tokens are
a subset of ``input_tokens`` while Anthropic's raw API counts them on top of it;
``service_tier="flex"|"priority"`` makes langchain-openai prefix the detail keys
(``"flex_cache_read"``); Anthropic splits cache writes by time to live. Pricing,
the ledger and the callback handler all read `TokenCounts`, so the shapes are
untangled once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

# The tiers for which langchain-openai prefixes the token-detail keys.
PREFIXED_SERVICE_TIERS = ("flex", "priority")


class TokenCounts(NamedTuple):
    """Token counts of one call, every count a part of ``input`` or ``output``.

    A named tuple rather than a frozen dataclass: it is built on every priced call,
    and a tuple is built several times faster.

    Attributes:
        input: All prompt tokens, cached and cache-written ones included.
        cache_read: Prompt tokens read from the provider's prompt cache.
        cache_write: Prompt tokens written to the cache with no stated time to live.
        cache_write_5m: Prompt tokens written to a 5-minute cache.
        cache_write_1h: Prompt tokens written to a 1-hour cache.
        output: All completion tokens, reasoning tokens included (LangChain's convention).
        reasoning: Completion tokens spent on hidden reasoning.
        service_tier: ``"flex"`` or ``"priority"`` when the usage keys say so, else None.
        input_audio: Prompt tokens of audio (a part of ``input``), billed at the audio
            price where a model has one.
        output_audio: Completion tokens of audio (a part of ``output``).
    """

    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0
    service_tier: str | None = None
    input_audio: int = 0
    output_audio: int = 0

    @property
    def cache_write_total(self) -> int:
        """Prompt tokens written to the cache, whatever their time to live."""
        return self.cache_write + self.cache_write_5m + self.cache_write_1h

    @property
    def uncached_input(self) -> int:
        """Prompt tokens billed at the plain input price."""
        return max(self.input - self.cache_read - self.cache_write_total, 0)

    @property
    def total(self) -> int:
        """Prompt plus completion tokens."""
        return self.input + self.output


_NO_TOKENS = TokenCounts()
_NO_DETAILS: Mapping[str, Any] = {}


def token_counts(usage: Mapping[str, Any] | None) -> TokenCounts:
    """Normalise a ``UsageMetadata``-like mapping (missing keys count as zero).

    LangChain's convention is that cache reads and writes are part of ``input_tokens``.
    When they add up to more than ``input_tokens`` the counts cannot be a subset, so
    they are taken as additive (Anthropic's raw API shape) and added to the input.
    """
    if not usage:
        return _NO_TOKENS
    input_tokens: int = usage.get("input_tokens") or 0
    output_tokens: int = usage.get("output_tokens") or 0
    inputs: Mapping[str, Any] = usage.get("input_token_details") or _NO_DETAILS
    outputs: Mapping[str, Any] = usage.get("output_token_details") or _NO_DETAILS
    if not inputs and not outputs:  # the common case, kept fast: priced on every call
        return TokenCounts(input_tokens, output=output_tokens)
    tier = _prefixed_tier(inputs, outputs)
    cache_read = _detail(inputs, "cache_read", tier)
    write_5m = inputs.get("ephemeral_5m_input_tokens") or 0
    write_1h = inputs.get("ephemeral_1h_input_tokens") or 0
    # When a TTL breakdown is present, "cache_creation" (if still there) is its total.
    write_plain = max(_detail(inputs, "cache_creation", tier) - write_5m - write_1h, 0)
    cached = cache_read + write_plain + write_5m + write_1h
    if cached > input_tokens:
        input_tokens += cached
    return TokenCounts(
        input_tokens,
        cache_read,
        write_plain,
        write_5m,
        write_1h,
        output_tokens,
        _detail(outputs, "reasoning", tier),
        tier,
        inputs.get("audio") or 0,
        outputs.get("audio") or 0,
    )


def _prefixed_tier(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> str | None:
    """The service tier langchain-openai stamped on the detail keys, if any."""
    for tier in PREFIXED_SERVICE_TIERS:
        if tier in inputs or tier in outputs:
            return tier
    return None


def _detail(details: Mapping[str, Any], key: str, tier: str | None) -> int:
    if tier is not None and (prefixed := details.get(f"{tier}_{key}")) is not None:
        return int(prefixed)
    return details.get(key) or 0
