"""Worst-case cost of an attempt: the output cap, or the bound learned from answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from langchain_costrouter.budgets import WorstCase
from langchain_costrouter.budgets.estimate import DEFAULT_FIRST_OUTPUT_BOUND, TRUSTED_AFTER
from langchain_costrouter.budgets.media import MediaTokens
from langchain_costrouter.errors import ConfigError, UnknownPriceWarning
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.routes import Deployment

PRICES = PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=4)})
MODEL = Deployment(model=None, model_id="m", provider="p")  # type: ignore[arg-type]


def test_prompt_at_input_price_plus_output_cap_at_output_price() -> None:
    assert WorstCase(PRICES).usd(MODEL, 1000, 500) == Decimal("0.003")


def test_without_a_cap_the_first_bound_holds_until_enough_answers_were_seen() -> None:
    worst = WorstCase(PRICES)
    assert worst.output_bound("p/m") == DEFAULT_FIRST_OUTPUT_BOUND
    for _ in range(TRUSTED_AFTER - 1):
        worst.observe("p/m", 300)
    assert worst.output_bound("p/m") == DEFAULT_FIRST_OUTPUT_BOUND
    worst.observe("p/m", 400)
    assert worst.output_bound("p/m") == 501  # the largest seen, a quarter more
    assert worst.usd(MODEL, 0, None) == Decimal("0.002004")


def test_a_long_answer_before_trust_raises_the_bound() -> None:
    worst = WorstCase(PRICES, first_output_bound=100)
    worst.observe("p/m", 1000)
    assert worst.output_bound("p/m") == 1251


def test_a_deployment_that_answered_past_its_cap_loses_the_caps_trust() -> None:
    worst = WorstCase(PRICES, first_output_bound=100)
    worst.observe("p/m", 400)  # within a cap of 500: caps still trusted
    assert worst.usd(MODEL, 0, 12) == Decimal("0.000048")
    worst.observe("p/m", 400, over_cap=True)  # 400 tokens for a cap of 12
    assert worst.output_tokens("p/m", 12) == 501
    assert worst.usd(MODEL, 0, 12) == Decimal("0.002004")  # the learned bound, not the cap
    assert worst.output_tokens("p/m", 2000) == 2000  # a larger cap still counts


def test_an_unpriced_model_cannot_be_budgeted() -> None:
    unpriced = Deployment(model=None, model_id="nobody-knows", provider="p")  # type: ignore[arg-type]
    with pytest.warns(UnknownPriceWarning), pytest.raises(ConfigError, match="no price"):
        WorstCase(PRICES).usd(unpriced, 10, 10)
    with pytest.raises(ConfigError, match="at least 1"):
        WorstCase(PRICES, first_output_bound=0)


def test_a_prompt_s_audio_is_held_at_the_audio_rate_or_refused_without_one() -> None:
    # gpt-4o-audio-preview: $2.5 per million text tokens in, $40 audio; a 100 s clip at
    # OpenAI's 10 tokens a second is 1000 audio tokens: $0.04, not $0.0025 as text.
    worst = WorstCase(PriceTable())
    audio = Deployment(model=None, model_id="gpt-4o-audio-preview", provider="openai")  # type: ignore[arg-type]
    assert worst.usd(audio, 0, 1, MediaTokens(0, 1000)) == Decimal("0.04001")
    old = Deployment(model=None, model_id="gpt-4o-audio-preview-2024-10-01", provider="openai")  # type: ignore[arg-type]
    with pytest.warns(UnknownPriceWarning), pytest.raises(ConfigError, match="prompt's audio"):
        worst.usd(old, 0, 1, MediaTokens(0, 1000))
