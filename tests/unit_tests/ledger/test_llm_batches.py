"""A completion batch's one reported usage split among its prompts (ledger/llm_batches.py)."""

from __future__ import annotations

import random

from langchain_costrouter.ledger.llm_batches import split_usage


def usage(inp: int, out: int, cached: int, reasoning: int) -> dict[str, object]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "input_token_details": {"cache_read": cached},
        "output_token_details": {"reasoning": reasoning},
    }


def test_the_shares_add_up_to_the_reported_usage_and_each_is_possible() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        size = rng.randint(2, 8)
        inp, out = rng.randint(0, 500), rng.randint(0, 500)
        cached, reasoning = rng.randint(0, inp), rng.randint(0, out)
        inputs = [rng.randint(0, 60) for _ in range(size)]
        outputs = [rng.randint(0, 60) for _ in range(size)]
        shares = split_usage(usage(inp, out, cached, reasoning), inputs, outputs)
        assert len(shares) == size
        assert sum(share["input_tokens"] for share in shares) == inp
        assert sum(share["output_tokens"] for share in shares) == out
        assert sum(share["input_token_details"]["cache_read"] for share in shares) == cached
        assert sum(share["output_token_details"]["reasoning"] for share in shares) == reasoning
        for share in shares:  # never more cached than input, nor reasoning than output
            assert 0 <= share["input_token_details"]["cache_read"] <= share["input_tokens"]
            assert 0 <= share["output_token_details"]["reasoning"] <= share["output_tokens"]


def test_shares_follow_the_prompts_and_answers_sizes() -> None:
    (small, large) = split_usage(usage(400, 90, 0, 0), [1, 3], [2, 1])
    assert (small["input_tokens"], large["input_tokens"]) == (100, 300)
    assert (small["output_tokens"], large["output_tokens"]) == (60, 30)
    # Nothing to weigh by (empty prompts and answers): equal shares, remainder first.
    assert [share["input_tokens"] for share in split_usage(usage(7, 0, 0, 0), [0, 0], [0, 0])] == [
        4,
        3,
    ]
