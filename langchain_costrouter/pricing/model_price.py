"""Prices set in code or in the config file, for models genai-prices lacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from langchain_costrouter._unknown_keys import unknown_key_message
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.pricing.rates import BATCH_DISCOUNT, PriceSchedule, Rates, per_token_rates

PriceValue = Decimal | int | float | str
_TIER_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "cache_write_5m_per_mtok",
    "cache_write_1h_per_mtok",
    "input_audio_per_mtok",
    "output_audio_per_mtok",
)


@dataclass(frozen=True)
class ModelPrice:
    """A model's price in dollars per million tokens.

    Unset cache prices fall back the way providers bill them: cached reads and cache
    writes at the input price, 5-minute/1-hour writes at the plain cache-write price.
    Floats and strings are read as exact decimals (``0.1`` is $0.10, not 0.1000000001).

    Attributes:
        input_per_mtok: Uncached prompt tokens.
        output_per_mtok: Completion tokens, reasoning tokens included.
        cached_input_per_mtok: Prompt tokens read from the provider's prompt cache.
        cache_write_per_mtok: Prompt tokens written to the cache.
        cache_write_5m_per_mtok: Prompt tokens written to a 5-minute cache.
        cache_write_1h_per_mtok: Prompt tokens written to a 1-hour cache.
        input_audio_per_mtok: Prompt tokens of audio. Unset, a call with audio tokens
            in its prompt has an unknown cost, never the text price: audio models bill
            audio at many times it (set it to ``input_per_mtok`` when yours does not).
        output_audio_per_mtok: Completion tokens of audio; unset, as above.
        batch_multiplier: Factor applied to every price of a batch-API call.
        above_input_tokens: Long-context prices: once a prompt has more tokens than a
            key, the whole call is billed at that key's prices.
    """

    input_per_mtok: PriceValue
    output_per_mtok: PriceValue
    cached_input_per_mtok: PriceValue | None = None
    cache_write_per_mtok: PriceValue | None = None
    cache_write_5m_per_mtok: PriceValue | None = None
    cache_write_1h_per_mtok: PriceValue | None = None
    input_audio_per_mtok: PriceValue | None = None
    output_audio_per_mtok: PriceValue | None = None
    batch_multiplier: PriceValue = BATCH_DISCOUNT
    above_input_tokens: Mapping[int, ModelPrice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (*_TIER_FIELDS, "batch_multiplier"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_decimal(value, name))
        frozen_tiers = MappingProxyType(dict(self.above_input_tokens))
        object.__setattr__(self, "above_input_tokens", frozen_tiers)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, model: str) -> ModelPrice:
        """Build a price from a config-file table; errors name the model's key."""
        known = (*_TIER_FIELDS, "batch_multiplier")
        for name in data:
            if name not in known:
                raise ConfigError(f"{name!r}: {unknown_key_message(name, known)}", key=model)
        try:
            return cls(**data)
        except TypeError as error:
            raise ConfigError(str(error), key=model) from error
        except ConfigError as error:
            raise ConfigError(str(error), key=model) from error

    def schedule(self, *, batch: bool = False) -> PriceSchedule:
        """Per-token rates of this price with its long-context tiers."""
        tiers = tuple(
            (start, price.rates()) for start, price in sorted(self.above_input_tokens.items())
        )
        schedule = PriceSchedule(base=self.rates(), tiers=tiers, source="override")
        return (
            schedule.scaled(to_decimal(self.batch_multiplier, "batch_multiplier"))
            if batch
            else schedule
        )

    def rates(self) -> Rates:
        """Per-token rates of the base tier."""
        per_mtok = {
            kind: getattr(self, name) for kind, name in zip(_KINDS, _TIER_FIELDS, strict=True)
        }
        return per_token_rates(per_mtok)


_KINDS = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_5m",
    "cache_write_1h",
    "input_audio",
    "output_audio",
)


def to_decimal(value: PriceValue, name: str) -> Decimal:
    """Read a price as an exact, finite, non-negative Decimal."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as error:
        raise ConfigError(f"{name} must be a number of dollars, got {value!r}") from error
    if not number.is_finite() or number < 0:
        raise ConfigError(f"{name} must be a finite, non-negative number, got {value!r}")
    return number
