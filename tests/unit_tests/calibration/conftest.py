"""Synthetic outcome sets with a known right answer for calibration tests, and a search
shared by the tests that run the same one."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence

import pytest

from langchain_costrouter.calibration.evaluate import CostFunction
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord

CalibrateOnce = Callable[[Sequence[OutcomeRecord], SearchOptions, CostFunction], Policy]

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


@pytest.fixture(scope="session")
def calibrate_once() -> CalibrateOnce:
    """`search.calibrate`, run once per distinct input in the session (the search is
    deterministic: the same input gives the same policy in every process).

    test_overruling_quality_bar.py and test_scaled.py's OVERRULING guarded case search the
    same train half (the shared outcomes file is what bench/convert_data.py makes of the
    recorded data) with the same options and costs: one search of about 30 s serves both.
    """
    policies: dict[str, Policy] = {}

    def run(
        train: Sequence[OutcomeRecord], options: SearchOptions, cost_of: CostFunction
    ) -> Policy:
        key = search_key(train, options, cost_of)
        if key not in policies:
            policies[key] = calibrate(train, options, cost_of)
        return policies[key]

    return run


def search_key(
    train: Sequence[OutcomeRecord], options: SearchOptions, cost_of: CostFunction
) -> str:
    """A digest of all a search reads: the records in order (every field, floats in full),
    the options, and each outcome's cost as ``cost_of`` prices it."""
    digest = hashlib.sha256(repr(options).encode())
    for record in train:
        messages = tuple(tuple(sorted(message.items())) for message in record.messages)
        outcomes = sorted(record.outcomes.items())
        costs = [cost_of(model, outcome) for model, outcome in outcomes]
        extra = sorted(record.extra.items())
        fields = (record.id, record.task, messages, record.reference, outcomes, costs, extra)
        digest.update(repr(fields).encode())
    return digest.hexdigest()
