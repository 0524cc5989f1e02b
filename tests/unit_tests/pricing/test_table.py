from __future__ import annotations

import time
import warnings
from decimal import Decimal

import pytest

from langchain_costrouter.errors import ConfigError, UnknownPriceWarning
from langchain_costrouter.pricing import ModelPrice, PriceTable

# genai-prices' snapshot: gpt-4o-mini $0.15 in / $0.075 cached / $0.60 out per million.
MINI = "gpt-4o-mini"


def usage(inp: int, out: int, *, cached: int = 0, reasoning: int = 0) -> dict[str, object]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "input_token_details": {"cache_read": cached},
        "output_token_details": {"reasoning": reasoning},
    }


def test_uncached_cached_and_output_tokens_from_genai_prices() -> None:
    priced = PriceTable().price(MINI, usage(1000, 200, cached=400), provider="openai")
    # 600 x 0.15 + 400 x 0.075 + 200 x 0.60 per million
    assert priced.cost_usd == Decimal("0.00024")
    assert priced.source == "price_map"


def test_reasoning_tokens_are_inside_output_and_not_billed_twice() -> None:
    table = PriceTable()
    with_reasoning = table.price(MINI, usage(1000, 200, reasoning=150))
    assert with_reasoning.cost_usd == table.price(MINI, usage(1000, 200)).cost_usd
    assert with_reasoning.cost_usd == Decimal("0.00027")


def test_anthropic_cache_writes_by_time_to_live() -> None:
    # claude-sonnet-4-5: $3 in, $0.30 read, $3.75 5m write, $6 1h write, $15 out.
    priced = PriceTable().price(
        "claude-sonnet-4-5",
        {
            "input_tokens": 10_000,
            "output_tokens": 1000,
            "input_token_details": {
                "cache_read": 4000,
                "ephemeral_5m_input_tokens": 2000,
                "ephemeral_1h_input_tokens": 1000,
            },
        },
    )
    expected = (
        3000 * 3 + 4000 * Decimal("0.3") + 2000 * Decimal("3.75") + 1000 * 6 + 1000 * 15
    ) / 10**6
    assert priced.cost_usd == expected


def test_long_context_tier_bills_the_whole_call_at_the_higher_rate() -> None:
    table = PriceTable()
    below = table.price("gemini-2.5-pro", {"input_tokens": 200_000, "output_tokens": 1000})
    above = table.price("gemini-2.5-pro", {"input_tokens": 200_001, "output_tokens": 1000})
    assert below.cost_usd == Decimal("0.26")  # 200k x 1.25 + 1k x 10
    assert above.cost_usd == Decimal("0.5150025")  # 200,001 x 2.50 + 1k x 15


def test_service_tier_prices_from_prefixed_usage_keys() -> None:
    flex_usage = {
        "input_tokens": 1000,
        "output_tokens": 100,
        "input_token_details": {"flex_cache_read": 0, "flex": 1000},
        "output_token_details": {"flex": 100},
    }
    table = PriceTable()
    standard = table.price("gpt-5", usage(1000, 100)).cost_usd
    assert standard == Decimal("0.00225")  # 1000 x 1.25 + 100 x 10
    assert table.price("gpt-5", flex_usage).cost_usd == Decimal("0.001125")
    assert table.price("gpt-5", usage(1000, 100), service_tier="priority").cost_usd == Decimal(
        "0.0045"
    )


def test_batch_discount_uses_listed_batch_price_else_halves() -> None:
    table = PriceTable({"my-model": ModelPrice(input_per_mtok=2, output_per_mtok=8)})
    assert table.price("gpt-5", usage(1000, 100), batch=True).cost_usd == Decimal("0.001125")
    assert table.price("my-model", usage(1000, 100), batch=True).cost_usd == Decimal("0.0014")


def test_override_wins_and_fills_cache_prices_from_input() -> None:
    table = PriceTable({MINI: ModelPrice(input_per_mtok="1", output_per_mtok=0.5)})
    priced = table.price(MINI, usage(1000, 1000, cached=500))
    assert priced == type(priced)(Decimal("0.0015"), "override")


def test_override_long_context_tiers() -> None:
    price = ModelPrice(
        input_per_mtok=1,
        output_per_mtok=2,
        above_input_tokens={1000: ModelPrice(input_per_mtok=10, output_per_mtok=20)},
    )
    table = PriceTable({"local": price})
    assert table.price("local", {"input_tokens": 1000, "output_tokens": 0}).cost_usd == Decimal(
        "0.001"
    )
    assert table.price("local", {"input_tokens": 1001, "output_tokens": 0}).cost_usd == Decimal(
        "0.01001"
    )


def test_unknown_model_costs_none_and_warns_once_per_table() -> None:
    table = PriceTable()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = table.price("no-such-model", usage(10, 10))
        table.price("no-such-model", usage(20, 20), provider="openai")
        table.price("no-such-model", usage(20, 20), batch=True)
    assert first.cost_usd is None
    assert first.source == "unknown"
    warned = [w for w in caught if w.category is UnknownPriceWarning]
    assert len(warned) == 1
    assert "no-such-model" in str(warned[0].message)


def test_the_unknown_price_warning_names_the_config_key_that_exists() -> None:
    with pytest.warns(UnknownPriceWarning) as caught:
        PriceTable().price("no-such-model", usage(10, 10))
    message = str(caught[0].message)
    assert "price = { input_per_mtok = ..., output_per_mtok = ... }" in message
    assert "[models.NAME]" in message


def test_unknown_provider_name_falls_back_to_the_model_id() -> None:
    table = PriceTable()
    priced = table.price(MINI, usage(1000, 0), provider="my-local-gateway")
    assert priced.cost_usd == Decimal("0.00015")


def test_most_expensive_ranks_known_models_and_skips_unknown() -> None:
    table = PriceTable({"cheap-local": ModelPrice(input_per_mtok="0.01", output_per_mtok="0.01")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownPriceWarning)
        assert table.most_expensive(["cheap-local", MINI, "gpt-5", "mystery"]) == "gpt-5"
        assert table.most_expensive(["mystery"]) is None


def test_baseline_prices_the_same_tokens_on_the_reference_model() -> None:
    table = PriceTable()
    assert table.baseline(usage(1000, 100), "gpt-5") == Decimal("0.00225")


def test_model_price_from_mapping_validates() -> None:
    assert ModelPrice.from_mapping(
        {"input_per_mtok": 0.01, "output_per_mtok": 0.02}, model="q"
    ).input_per_mtok == Decimal("0.01")
    with pytest.raises(
        ConfigError, match="'inptu_per_mtok': unknown key; did you mean `input_per_mtok`"
    ):
        ModelPrice.from_mapping({"inptu_per_mtok": 1, "output_per_mtok": 1}, model="q")
    with pytest.raises(ConfigError, match="non-negative"):
        ModelPrice(input_per_mtok=-1, output_per_mtok=1)
    with pytest.raises(ConfigError, match="number of dollars"):
        ModelPrice(input_per_mtok="free", output_per_mtok=1)


def test_price_after_warm_up_is_fast() -> None:
    table = PriceTable()
    call = usage(1200, 300, cached=512, reasoning=100)
    table.price(MINI, call, provider="openai")
    runs = 20_000
    start = time.perf_counter()
    for _ in range(runs):
        table.price(MINI, call, provider="openai")
    per_call_us = (time.perf_counter() - start) / runs * 1e6
    assert per_call_us < 20


def _genai_total(model: str, provider: str, **genai_usage: int) -> Decimal:
    """genai-prices' own figure for the same usage (its public ``calc_price``)."""
    import genai_prices

    usage_in = genai_prices.Usage(**genai_usage)
    return genai_prices.calc_price(usage_in, model_ref=model, provider_id=provider).total_price


def test_a_per_request_fee_is_part_of_every_call() -> None:
    # perplexity sonar: $1 in, $1 out per million and $12 per thousand requests.
    table = PriceTable()
    priced = table.price("sonar", usage(1000, 1000), provider="perplexity")
    assert priced.cost_usd == Decimal("0.014")
    assert priced.cost_usd == _genai_total(
        "sonar", "perplexity", input_tokens=1000, output_tokens=1000
    )


def test_reasoning_tokens_at_their_own_price_when_genai_prices_lists_one() -> None:
    # perplexity sonar-deep-research: $8 per million output tokens, $3 for reasoning ones.
    priced = PriceTable().price(
        "sonar-deep-research", usage(1000, 1000, reasoning=600), provider="perplexity"
    )
    assert priced.cost_usd == Decimal("0.007")  # 1000 x 2 + 400 x 8 + 600 x 3
    assert priced.cost_usd == _genai_total(
        "sonar-deep-research",
        "perplexity",
        input_tokens=1000,
        output_tokens=1000,
        output_reasoning_tokens=600,
    )


def test_audio_tokens_at_the_audio_prices() -> None:
    # gpt-audio: $2.5 text / $32 audio in, $10 text / $64 audio out per million; usage as
    # ChatOpenAI reports it (audio tokens a part of input_tokens and output_tokens).
    call = {
        "input_tokens": 1000,
        "output_tokens": 200,
        "input_token_details": {"audio": 500, "cache_read": 0},
        "output_token_details": {"audio": 100, "reasoning": 0},
    }
    priced = PriceTable().price("gpt-audio", call, provider="openai")
    assert priced.cost_usd == Decimal("0.02465")  # 500 x 2.5 + 500 x 32 + 100 x 10 + 100 x 64
    assert priced.cost_usd == _genai_total(
        "gpt-audio",
        "openai",
        input_tokens=1000,
        input_audio_tokens=500,
        output_tokens=200,
        output_audio_tokens=100,
    )


def _audio_call(audio_in: int, audio_out: int) -> dict[str, object]:
    """1000 prompt and 200 completion tokens, as ChatOpenAI reports an audio model's."""
    return {
        "input_tokens": 1000,
        "output_tokens": 200,
        "total_tokens": 1200,
        "input_token_details": {"audio": audio_in, "cache_read": 0},
        "output_token_details": {"audio": audio_out, "reasoning": 0},
    }


@pytest.mark.parametrize(
    ("model", "dollars"),
    [
        # OpenAI: $2.5 text / $40 audio in, $10 text / $80 audio out per million;
        # 400 x 2.5 + 600 x 40 + 50 x 10 + 150 x 80.
        ("gpt-4o-audio-preview", "0.0375"),
        ("gpt-4o-audio-preview-2024-12-17", "0.0375"),
        ("gpt-4o-audio-preview-2025-06-03", "0.0375"),
        # $0.15 / $10 in, $0.6 / $20 out: 400 x 0.15 + 600 x 10 + 50 x 0.6 + 150 x 20.
        ("gpt-4o-mini-audio-preview", "0.00909"),
        ("gpt-4o-mini-audio-preview-2024-12-17", "0.00909"),
    ],
)
def test_the_audio_preview_models_bill_audio_at_openai_s_audio_rates(
    model: str, dollars: str
) -> None:
    # genai-prices lists their text rates only: the audio was billed as text ($0.0045).
    for provider in ("openai", None):
        priced = PriceTable().price(model, _audio_call(600, 150), provider=provider)
        assert priced == (Decimal(dollars), "price_map")


def test_the_audio_rates_hold_their_worst_case_too() -> None:
    # A reservation prices a prompt's audio clip (input_token_details.audio only).
    clip = {"input_tokens": 1000, "output_tokens": 0, "input_token_details": {"audio": 1000}}
    assert PriceTable().price("gpt-4o-audio-preview", clip).cost_usd == Decimal("0.04")


def test_audio_tokens_with_no_audio_rate_are_an_unknown_price_never_text_or_free() -> None:
    table = PriceTable({"local-audio": ModelPrice(input_per_mtok=1, output_per_mtok=2)})
    with pytest.warns(UnknownPriceWarning, match="input audio") as snapshot_warned:
        snapshot = table.price("gpt-4o-audio-preview-2024-10-01", _audio_call(600, 0))
    with pytest.warns(UnknownPriceWarning, match="output_audio_per_mtok=") as override_warned:
        override = table.price("local-audio", _audio_call(0, 150))
    assert snapshot == (None, "unknown") and override == (None, "unknown")
    assert "gpt-4o-audio-preview-2024-10-01" in str(snapshot_warned[0].message)
    assert len(snapshot_warned) == len(override_warned) == 1


def test_a_call_without_audio_tokens_is_priced_whatever_the_audio_rates() -> None:
    # OpenAI reports "audio_tokens": 0 on every call; a text call is never unknown for it.
    table = PriceTable({"local": ModelPrice(input_per_mtok=1, output_per_mtok=2)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert table.price("local", _audio_call(0, 0)).cost_usd == Decimal("0.0014")
        assert table.price("gpt-4o-audio-preview-2024-10-01", _audio_call(0, 0)).cost_usd == (
            Decimal("0.0045")
        )


def test_an_override_bills_audio_at_the_audio_rates_it_gives() -> None:
    price = ModelPrice(
        input_per_mtok=1, output_per_mtok=2, input_audio_per_mtok=10, output_audio_per_mtok=20
    )
    table = PriceTable({"local-audio": price})
    # 400 x 1 + 600 x 10 + 50 x 2 + 150 x 20 per million
    assert table.price("local-audio", _audio_call(600, 150)).cost_usd == Decimal("0.0095")
    assert ModelPrice.from_mapping(
        {"input_per_mtok": 1, "output_per_mtok": 2, "input_audio_per_mtok": 10}, model="q"
    ).input_audio_per_mtok == Decimal(10)
