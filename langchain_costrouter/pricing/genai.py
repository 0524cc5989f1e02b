"""Rates from the `genai-prices` snapshot bundled with the package.

Only the public ``calc_price`` is used, on an empty usage, to get the model's price
resolved for today, the service tier and batch processing (``calc.model_price``).
The bundled snapshot needs no network; genai-prices only fetches newer prices when
``UpdatePrices`` is started, which this package never does. Audio rates it lacks for
models that bill audio at rates of their own are filled from pricing/audio.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from langchain_costrouter.pricing.audio import audio_rates
from langchain_costrouter.pricing.rates import BATCH_DISCOUNT, PriceSchedule, Rates, per_token_rates

# Our token kinds and the genai-prices price keys that bill them.
_PRICE_KEYS = {
    "input": "input_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "cache_write_5m": "cache_write_5m_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
    "output": "output_mtok",
    "reasoning": "output_reasoning_mtok",
    "input_audio": "input_audio_mtok",
    "output_audio": "output_audio_mtok",
}


def genai_price_schedule(
    model: str, provider: str | None, service_tier: str | None, batch: bool
) -> PriceSchedule | None:
    """The schedule of ``model``, or None when genai-prices has no token price for it.

    A batch call uses the model's batch price when genai-prices lists one, else the
    standard price halved. A service tier without a listed price uses the standard one.
    """
    context = {"service_tier": service_tier} if service_tier else {}
    standard = _model_price(model, provider, context)
    if standard is None or not _has_token_prices(standard):
        return None
    audio = audio_rates(model)
    schedule = _schedule(standard, audio)
    if not batch:
        return schedule
    batched = _model_price(model, provider, {**context, "processing": "batch"})
    if batched is None or batched == standard:
        return schedule.scaled(BATCH_DISCOUNT)
    return _schedule(batched, {kind: rate * BATCH_DISCOUNT for kind, rate in audio.items()})


def _model_price(model: str, provider: str | None, context: dict[str, str]) -> Any:
    # Imported here: genai-prices builds its whole snapshot on import (a few tenths of a
    # second), which `costrouter report` and a router whose prices are overridden never need.
    import genai_prices

    try:
        calc = genai_prices.calc_price(
            genai_prices.Usage(),
            model_ref=model,
            provider_id=provider,
            price_context=context or None,
        )
    except LookupError:
        # Provider names are the user's config names ("local-vllm"): retry on the
        # model id alone before calling the model unknown.
        return None if provider is None else _model_price(model, None, context)
    return calc.model_price


def _has_token_prices(model_price: Any) -> bool:
    return model_price.input_mtok is not None or model_price.output_mtok is not None


def _schedule(model_price: Any, audio: Mapping[str, Decimal]) -> PriceSchedule:
    starts = sorted(
        {
            tier.start
            for key in _PRICE_KEYS.values()
            for tier in getattr(getattr(model_price, key), "tiers", ())
        }
    )
    tiers = tuple((start, _rates_at(model_price, start + 1, audio)) for start in starts)
    return PriceSchedule(
        base=_rates_at(model_price, 0, audio),
        tiers=tiers,
        source="price_map",
        per_request=_per_request(model_price),
    )


def _per_request(model_price: Any) -> Decimal:
    """The fee of one request: genai-prices lists it per thousand (``requests_kcount``)."""
    per_thousand = _price_at(getattr(model_price, "requests_kcount", None), 0)
    return Decimal(0) if per_thousand is None else per_thousand.scaleb(-3)


def _rates_at(model_price: Any, input_tokens: int, audio: Mapping[str, Decimal]) -> Rates:
    """The rates at a prompt size; ``audio`` fills the audio rates genai-prices lacks."""
    listed = {
        kind: _price_at(getattr(model_price, key), input_tokens)
        for kind, key in _PRICE_KEYS.items()
    }
    for kind, rate in audio.items():
        if listed[kind] is None:
            listed[kind] = rate
    return per_token_rates(listed)


def _price_at(price: Any, input_tokens: int) -> Decimal | None:
    """A per-million price at a prompt size; tiers are cliffs on ``input_tokens > start``."""
    if price is None or isinstance(price, Decimal):
        return price
    applicable: Decimal = price.base
    for tier in price.tiers:
        if input_tokens > tier.start:
            applicable = tier.price
    return applicable
