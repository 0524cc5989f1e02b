"""The guarded promise's saving interval holds the shipped policy's true saving.

The interval was bootstrapped from the nested folds' answers: cascades chosen without
each row, each against the baseline picked on its fold. When two models are about as
good but priced apart, the folds pick one or the other, so the interval measured a
saving against a mix of baselines while the policy names one: on OVERRULING
(text-davinci-002 or GPT-4 per fold) it held the test half's saving in 1 of 6 splits.
Here a population has two such models; each run calibrates on 300 rows and compares
the promise with the policy's saving against the baseline it names on 5,000 new rows.
"""

from __future__ import annotations

import random

import pytest

from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    simulate_policy,
    single_model_figures,
)
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from tests.unit_tests.calibration.conftest import EASY_WORDS, HARD_WORDS

RUNS, TRAIN_ROWS = 60, 300
PRICES = {"cheap": 0.001, "thrifty": 0.01, "dear": 0.03}


def _draw(size: int, seed: int, first: int = 0) -> list[OutcomeRecord]:
    """A cheap model right on easy questions (97%) and seldom on hard ones (20%); two
    strong models right on 90% of all, one three times the other's price."""
    rng = random.Random(seed)
    records = []
    for index in range(first, first + size):
        easy = rng.random() < 0.6
        word = rng.choice(EASY_WORDS if easy else HARD_WORDS)
        truth = rng.choice(["Yes", "No"])
        right = {"cheap": 0.97 if easy else 0.2, "thrifty": 0.9, "dear": 0.9}
        outcomes = {}
        for model, share in right.items():
            score = float(rng.random() < share)
            answer = truth if score else ("No" if truth == "Yes" else "Yes")
            outcomes[model] = ModelOutcome(score, answer, cost_usd=PRICES[model])
        prompt = ({"role": "user", "content": f"Question {index} about {word}?"},)
        records.append(OutcomeRecord(f"s{seed}r{index}", "t", prompt, outcomes, reference=truth))
    return records


@pytest.fixture(scope="module")
def population() -> list[OutcomeRecord]:
    """New questions (numbers no train row has), as live traffic brings."""
    return _draw(5000, seed=10**6, first=10**6)


def test_the_saving_interval_holds_the_policy_s_saving_against_its_own_baseline(
    population: list[OutcomeRecord],
) -> None:
    baselines = single_model_figures(OutcomeMatrix.of(population))
    held, widths = 0, []
    for seed in range(RUNS):
        options = SearchOptions(method="guarded", seed=seed, max_quality_loss=0.03)
        policy = calibrate(_draw(TRAIN_ROWS, seed), options)
        promise = policy.tasks["t"].train
        assert len(policy.tasks["t"].tiers) > 1, promise["decision"]  # a cascade every run
        baseline = baselines[promise["baseline_model"]].cost_usd
        saving = 1.0 - simulate_policy(policy, population).cost_usd / baseline
        low, high = promise["saving_interval"]
        assert low <= promise["expected_saving"] <= high
        held += low <= saving <= high
        widths.append(high - low)
    # 95% promised; the nested answers' interval held 37 of 60 (and missed by up to 23
    # points: a saving against 'dear' promised against 'thrifty').
    assert held / RUNS >= 0.85
    assert sum(widths) / RUNS <= 0.08  # a saving's interval, not a shrug
