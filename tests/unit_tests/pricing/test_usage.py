from __future__ import annotations

from langchain_costrouter.pricing import TokenCounts, token_counts


def test_openai_cached_tokens_are_a_subset_of_input() -> None:
    counts = token_counts(
        {
            "input_tokens": 1000,
            "output_tokens": 300,
            "input_token_details": {"cache_read": 400},
            "output_token_details": {"reasoning": 200},
        }
    )
    assert counts == TokenCounts(input=1000, cache_read=400, output=300, reasoning=200)
    assert counts.uncached_input == 600


def test_counts_exceeding_input_are_read_as_additive() -> None:
    # Anthropic's raw API: input_tokens excludes cache reads and writes.
    counts = token_counts(
        {
            "input_tokens": 50,
            "output_tokens": 10,
            "input_token_details": {"cache_read": 1000, "cache_creation": 500},
        }
    )
    assert counts.input == 1550
    assert counts.uncached_input == 50
    assert counts.cache_write_total == 500


def test_ttl_breakdown_of_cache_writes() -> None:
    counts = token_counts(
        {
            "input_tokens": 3000,
            "output_tokens": 1,
            "input_token_details": {
                "cache_creation": 2000,
                "ephemeral_5m_input_tokens": 500,
                "ephemeral_1h_input_tokens": 1000,
            },
        }
    )
    assert (counts.cache_write, counts.cache_write_5m, counts.cache_write_1h) == (500, 500, 1000)
    assert counts.uncached_input == 1000


def test_service_tier_prefixed_keys_of_langchain_openai() -> None:
    counts = token_counts(
        {
            "input_tokens": 1000,
            "output_tokens": 300,
            "input_token_details": {"flex_cache_read": 400, "flex": 600},
            "output_token_details": {"flex_reasoning": 200, "flex": 100},
        }
    )
    assert counts.service_tier == "flex"
    assert (counts.cache_read, counts.reasoning, counts.uncached_input) == (400, 200, 600)


def test_missing_or_empty_usage_counts_zero() -> None:
    assert token_counts(None) == TokenCounts()
    assert token_counts({"input_tokens": 5}).total == 5


def test_audio_tokens_are_a_part_of_input_and_output() -> None:
    counts = token_counts(
        {
            "input_tokens": 1000,
            "output_tokens": 300,
            "input_token_details": {"audio": 600, "cache_read": 100},
            "output_token_details": {"audio": 250, "reasoning": 0},
        }
    )
    assert (counts.input, counts.input_audio, counts.output, counts.output_audio) == (
        1000,
        600,
        300,
        250,
    )
    assert counts.uncached_input == 900
