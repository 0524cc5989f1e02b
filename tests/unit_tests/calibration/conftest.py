"""Synthetic outcome sets with a known right answer for calibration tests."""

from __future__ import annotations

import random

import pytest

from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord

EASY_WORDS = ["apple", "river", "stone", "cloud"]
HARD_WORDS = ["quantum", "statute", "tensor", "ledger"]


def synthetic_records(size: int, seed: int = 0) -> list[OutcomeRecord]:
    """A cheap model right on 'easy' questions only; a 30x dearer model always right."""
    rng = random.Random(seed)
    records = []
    for index in range(size):
        easy = rng.random() < 0.6
        word = rng.choice(EASY_WORDS if easy else HARD_WORDS)
        truth = rng.choice(["Yes", "No"])
        cheap_answer = truth if easy else ("No" if truth == "Yes" else "Yes")
        records.append(
            OutcomeRecord(
                id=f"r{index}",
                task="classification",
                messages=({"role": "user", "content": f"Question {index} about {word}?"},),
                reference=truth,
                outcomes={
                    "cheap": ModelOutcome(float(easy), cheap_answer, cost_usd=0.001),
                    "strong": ModelOutcome(1.0, truth, cost_usd=0.03),
                },
            )
        )
    return records


@pytest.fixture
def records() -> list[OutcomeRecord]:
    return synthetic_records(400)
