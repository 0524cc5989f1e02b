"""Per-token rates: the resolved form of a price, cheap to apply on every call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from langchain_costrouter.metadata import PriceSource
from langchain_costrouter.pricing.usage import TokenCounts

_ZERO = Decimal(0)
BATCH_DISCOUNT = Decimal("0.5")  # OpenAI, Anthropic and Google all halve batch prices.


@dataclass(frozen=True, slots=True)
class Rates:
    """Dollars per token of each kind of token, for one price tier.

    ``reasoning``, ``input_audio`` and ``output_audio`` are None unless the model bills
    those tokens at a price of their own (genai-prices' ``output_reasoning_mtok``,
    ``input_audio_mtok``, ``output_audio_mtok``); they are then taken out of the tokens
    billed at ``input`` or ``output``. Reasoning tokens without a price of their own are
    billed as output; audio tokens without an audio rate make the price unknown
    (`unpriced_audio`): audio models bill them at many times the text rates. Cache reads
    are taken to be text: LangChain's usage does not say how many of them were audio.
    """

    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    output: Decimal
    reasoning: Decimal | None = None
    input_audio: Decimal | None = None
    output_audio: Decimal | None = None

    def cost(self, tokens: TokenCounts) -> Decimal:
        """Exact dollars of ``tokens``; reasoning is inside output, so not added again."""
        if tokens.reasoning or tokens.input_audio or tokens.output_audio:
            return self._cost(tokens) + self._own_prices(tokens)
        return self._cost(tokens)

    def unpriced_audio(self, tokens: TokenCounts) -> str | None:
        """``"input audio"`` or ``"output audio"`` when ``tokens`` hold audio tokens of a
        kind these rates have no price for, else None."""
        if tokens.input_audio and self.input_audio is None:
            return "input audio"
        if tokens.output_audio and self.output_audio is None:
            return "output audio"
        return None

    def _own_prices(self, tokens: TokenCounts) -> Decimal:
        """What reasoning and audio tokens cost above (or below) the plain input or output
        price `_cost` billed them at, for the kinds this model prices on their own."""
        extra = _ZERO
        output_left = tokens.output
        if self.reasoning is not None and tokens.reasoning:
            reasoning = min(tokens.reasoning, output_left)
            output_left -= reasoning
            extra += reasoning * (self.reasoning - self.output)
        if self.output_audio is not None and tokens.output_audio:
            extra += min(tokens.output_audio, output_left) * (self.output_audio - self.output)
        if self.input_audio is not None and tokens.input_audio:
            audio = min(tokens.input_audio, tokens.uncached_input)
            extra += audio * (self.input_audio - self.input)
        return extra

    def _cost(self, tokens: TokenCounts) -> Decimal:
        if not (tokens.cache_read or tokens.cache_write_total):  # most calls: kept short
            return tokens.input * self.input + tokens.output * self.output
        cost = tokens.uncached_input * self.input + tokens.output * self.output
        if tokens.cache_read:
            cost += tokens.cache_read * self.cache_read
        if tokens.cache_write_total:
            cost += (
                tokens.cache_write * self.cache_write
                + tokens.cache_write_5m * self.cache_write_5m
                + tokens.cache_write_1h * self.cache_write_1h
            )
        return cost

    def scaled(self, factor: Decimal) -> Rates:
        """Every rate multiplied by ``factor`` (a batch discount)."""
        return Rates(
            input=self.input * factor,
            cache_read=self.cache_read * factor,
            cache_write=self.cache_write * factor,
            cache_write_5m=self.cache_write_5m * factor,
            cache_write_1h=self.cache_write_1h * factor,
            output=self.output * factor,
            reasoning=_scaled(self.reasoning, factor),
            input_audio=_scaled(self.input_audio, factor),
            output_audio=_scaled(self.output_audio, factor),
        )


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """A model's rates with its long-context tiers.

    Attributes:
        base: Rates of prompts up to the first tier's start.
        tiers: ``(start, rates)`` ascending; a prompt of more than ``start`` tokens
            is billed entirely at ``rates`` (the providers' "cliff" model).
        source: Where the price came from, recorded in the ledger.
        per_request: Dollars every call pays on top of its tokens (Perplexity's
            request fee), whatever its size.
    """

    base: Rates
    tiers: tuple[tuple[int, Rates], ...]
    source: PriceSource
    per_request: Decimal = _ZERO

    def cost(self, tokens: TokenCounts) -> Decimal:
        """Exact dollars of ``tokens`` at the tier their prompt size falls in, plus the
        request fee."""
        rates = self.rates_for(tokens.input) if self.tiers else self.base
        cost = rates.cost(tokens)
        return cost + self.per_request if self.per_request else cost

    def unpriced_audio(self, tokens: TokenCounts) -> str | None:
        """The kind of audio tokens in ``tokens`` these rates cannot price (`Rates`)."""
        return self.rates_for(tokens.input).unpriced_audio(tokens)

    def rates_for(self, input_tokens: int) -> Rates:
        """The rates that apply to a prompt of ``input_tokens`` tokens."""
        rates = self.base
        for start, tier_rates in self.tiers:
            if input_tokens <= start:
                break
            rates = tier_rates
        return rates

    def scaled(self, factor: Decimal) -> PriceSchedule:
        """The same schedule with every rate multiplied by ``factor``."""
        tiers = tuple((start, rates.scaled(factor)) for start, rates in self.tiers)
        return replace(
            self,
            base=self.base.scaled(factor),
            tiers=tiers,
            per_request=self.per_request * factor,
        )


def per_token_rates(per_mtok: Mapping[str, Decimal | None]) -> Rates:
    """Rates from dollars per million tokens by kind, filling unset cache prices.

    Providers bill an unpriced cache read or write at the input price, an unpriced
    5-minute/1-hour write at the plain cache-write price, and reasoning tokens without
    a price of their own as output. Audio rates stay None when unset (`Rates`).
    """
    input_rate = _per_token(per_mtok.get("input"))
    cache_write = _per_token(per_mtok.get("cache_write"), input_rate)
    return Rates(
        input=input_rate,
        cache_read=_per_token(per_mtok.get("cache_read"), input_rate),
        cache_write=cache_write,
        cache_write_5m=_per_token(per_mtok.get("cache_write_5m"), cache_write),
        cache_write_1h=_per_token(per_mtok.get("cache_write_1h"), cache_write),
        output=_per_token(per_mtok.get("output")),
        reasoning=_own_rate(per_mtok.get("reasoning")),
        input_audio=_own_rate(per_mtok.get("input_audio")),
        output_audio=_own_rate(per_mtok.get("output_audio")),
    )


def _own_rate(per_mtok: Decimal | None) -> Decimal | None:
    """A per-token rate of a kind with a price of its own, None when it has none."""
    return None if per_mtok is None else per_mtok.scaleb(-6)


def _scaled(rate: Decimal | None, factor: Decimal) -> Decimal | None:
    return None if rate is None else rate * factor


def _per_token(per_mtok: Decimal | None, default: Decimal = _ZERO) -> Decimal:
    # scaleb is exact: $0.15/M becomes 1.5E-7 per token with no rounding.
    return default if per_mtok is None else per_mtok.scaleb(-6)
