"""`PriceTable`: the exact `Decimal` cost of a call's usage on a model."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from langchain_costrouter.errors import UnknownPriceWarning
from langchain_costrouter.metadata import PriceSource
from langchain_costrouter.pricing.genai import genai_price_schedule
from langchain_costrouter.pricing.model_price import ModelPrice
from langchain_costrouter.pricing.rates import PriceSchedule
from langchain_costrouter.pricing.usage import TokenCounts, token_counts

# Blend used to rank models by price: prompts are typically ~3x longer than answers.
_BLEND_INPUT_WEIGHT = 3
Usage = Mapping[str, Any] | TokenCounts | None


class PricedUsage(NamedTuple):
    """The cost of one call and where its price came from (a tuple: built per call).

    Attributes:
        cost_usd: Exact dollars, or None when the model's price is unknown (never $0).
        source: ``"override"``, ``"price_map"`` (genai-prices) or ``"unknown"``.
    """

    cost_usd: Decimal | None
    source: PriceSource


_UNKNOWN = PricedUsage(cost_usd=None, source="unknown")
_UNRESOLVED: Any = object()
_Key = tuple[str, str | None, str | None, bool]


class PriceTable:
    """Prices models from overrides first, then the bundled genai-prices snapshot.

    Each (model, provider, service tier, batch) is resolved once into per-token
    rates and memoised, because the router prices every call: after the first call
    of a model, `price` is a dict lookup and a few Decimal multiplications.
    Thread-safe. An unknown model warns once per table (`UnknownPriceWarning`).
    """

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        """Args:
        overrides: Prices by model id, for models genai-prices lacks or prices
            differently (self-hosted, negotiated); they win over genai-prices.
        """
        self.overrides: Mapping[str, ModelPrice] = MappingProxyType(dict(overrides or {}))
        self._schedules: dict[_Key, PriceSchedule | None] = {}
        self._unknown_models: set[tuple[str, str | None]] = set()
        self._resolve_lock = threading.Lock()

    def price(
        self,
        model: str,
        usage: Usage,
        *,
        provider: str | None = None,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> PricedUsage:
        """Price one call's usage on ``model``.

        Args:
            model: The model id as the provider reports it or as it was asked for.
            usage: A ``UsageMetadata``-like dict, or counts normalised already.
            provider: A genai-prices provider id (``"openai"``, ...); a name it does
                not know falls back to matching on the model id alone.
            service_tier: ``"flex"``, ``"priority"``, ...; inferred from the usage
                keys when langchain-openai prefixed them with the tier.
            batch: Whether the call went through a batch API (discounted).
        """
        counts = usage if type(usage) is TokenCounts else token_counts(usage)  # type: ignore[arg-type]
        schedule = self._schedule(model, provider, service_tier or counts.service_tier, batch)
        if schedule is None:
            self._warn_unknown(model)
            return _UNKNOWN
        if (counts.input_audio or counts.output_audio) and (
            kind := schedule.unpriced_audio(counts)
        ):
            self._warn_unknown(model, kind)
            return _UNKNOWN
        return PricedUsage(schedule.cost(counts), schedule.source)

    def baseline(
        self, usage: Usage, reference_model: str, *, batch: bool = False
    ) -> Decimal | None:
        """What the same tokens would have cost on ``reference_model`` (None if unknown)."""
        return self.price(reference_model, usage, batch=batch).cost_usd

    def most_expensive(self, models: Iterable[str]) -> str | None:
        """The model with the highest blended price (3 input : 1 output tokens).

        The default reference model for savings; None when no model has a price.
        """
        blended = {
            model: _BLEND_INPUT_WEIGHT * schedule.base.input + schedule.base.output
            for model in models
            if (schedule := self._schedule(model, None, None, False)) is not None
        }
        return max(blended, key=blended.__getitem__) if blended else None

    def knows(self, model: str, *, provider: str | None = None) -> bool:
        """Whether ``model`` has a price (an override or a genai-prices entry)."""
        return self._schedule(model, provider, None, False) is not None

    def _schedule(
        self, model: str, provider: str | None, tier: str | None, batch: bool
    ) -> PriceSchedule | None:
        key = (model, provider, tier, batch)
        schedule = self._schedules.get(key, _UNRESOLVED)
        return self._resolve(key) if schedule is _UNRESOLVED else schedule

    def _resolve(self, key: _Key) -> PriceSchedule | None:
        with self._resolve_lock:
            if key not in self._schedules:
                self._schedules[key] = self._lookup(*key)
            return self._schedules[key]

    def _warn_unknown(self, model: str, audio: str | None = None) -> None:
        """Warn once per model (and kind of audio tokens), when a cost is actually
        recorded as unknown."""
        with self._resolve_lock:
            if (model, audio) in self._unknown_models:
                return
            self._unknown_models.add((model, audio))
        warnings.warn(
            _unknown_message(model) if audio is None else _unknown_audio_message(model, audio),
            UnknownPriceWarning,
            stacklevel=3,
        )

    def _lookup(
        self, model: str, provider: str | None, tier: str | None, batch: bool
    ) -> PriceSchedule | None:
        override = self.overrides.get(model)
        if override is not None:
            return override.schedule(batch=batch)
        return genai_price_schedule(model, provider, tier, batch)


def _unknown_message(model: str) -> str:
    return (
        f"No price known for model {model!r}: its cost is recorded as unknown. "
        "Give it one with PriceTable(overrides={model: ModelPrice(...)}) or, in the "
        "config file, with price = { input_per_mtok = ..., output_per_mtok = ... } "
        "in its [models.NAME] table (dollars per million tokens)."
    )


def _unknown_audio_message(model: str, kind: str) -> str:
    """Audio models bill audio at many times the text rates: never priced as text."""
    key = kind.replace(" ", "_") + "_per_mtok"
    return (
        f"No {kind} token price known for model {model!r}: the cost of its calls with "
        f"{kind} tokens is recorded as unknown, not at the text rates. Give it one with "
        f"PriceTable(overrides={{model: ModelPrice(..., {key}=...)}}) or, in the config "
        f"file, with {key} in the price of its [models.NAME] table (dollars per million "
        "tokens)."
    )
