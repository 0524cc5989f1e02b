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

import math
import random

import pytest

from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    simulate_policy,
    single_model_figures,
)
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.calibration.stack import stack_probabilities
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
        options = SearchOptions(method="guarded", seed=seed, max_quality_loss=0.05)
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
    # a saving's interval, not a shrug (0.081 on average: 300 rows prove a 5-point loss
    # only for cautious cascades, whose savings vary more)
    assert sum(widths) / RUNS <= 0.09


LABELS = ("alpha", "beta", "gamma", "delta")
EQUAL_PRICES = {"m0": 0.0001, "m1": 0.0003, "m2": 0.0009, "m3": 0.0027}


def _equally_good(size: int, seed: int, first: int = 0) -> list[OutcomeRecord]:
    """Four models right about as often (80%, on the same easy questions), priced 3x
    apart; a right answer says 'I am sure' more often, and the prompt names the right
    label, so a text scorer grows sure: wrong answers score near 1e-5, where the
    thresholds of a cascade that may accept almost anything land."""
    rng = random.Random(seed)
    records = []
    for index in range(first, first + size):
        truth, hard = rng.randrange(4), rng.gauss(0.0, 1.0)
        outcomes = {}
        for model, price in EQUAL_PRICES.items():
            right = rng.random() < 1.0 / (1.0 + math.exp(0.8 * hard - 1.4))
            answer = truth if right else (truth + 1 + rng.randrange(3)) % 4
            sure = "I am sure" if rng.random() < (0.85 if right else 0.3) else "Perhaps"
            text = f"{sure} the answer is {LABELS[answer]}."
            outcomes[model] = ModelOutcome(float(right), text, price * rng.uniform(0.7, 1.3))
        prompt = (
            {"role": "user", "content": f"Question {rng.randrange(10**9)} about {LABELS[truth]}?"},
        )
        records.append(OutcomeRecord(f"s{seed}r{index}", "t", prompt, outcomes))
    return records


def test_the_promised_saving_is_what_the_shipped_scorer_accepts() -> None:
    """The saving was measured with each fold's own stack while the policy ships one stack
    fitted on all rows; at a threshold near 1e-5 they accept different shares (here the
    promise said 64.5% where the shipped scorer saves 63.0% on the same rows)."""
    train = _equally_good(1000, seed=3)
    policy = calibrate(train, SearchOptions(seed=3))
    spec = policy.tasks["t"]
    assert spec.tiers == ("m0", "m1")
    matrix = OutcomeMatrix.of(train)
    scores = StageScores.of(matrix, SearchOptions().folds, 3)
    first, second = (matrix.models.index(model) for model in spec.tiers)
    rule = spec.rules[0]
    assert rule.scorer is not None and rule.scorer.stack is not None
    said = stack_probabilities(dict(rule.scorer.stack), scores.design(first, None))
    paid = matrix.cost[:, first] + (said < rule.threshold) * matrix.cost[:, second]
    baseline = matrix.cost[:, matrix.models.index(spec.train["baseline_model"])]
    shipped = 1.0 - float(paid.sum() / baseline.sum())
    assert spec.train["expected_saving"] == pytest.approx(shipped, abs=1e-6)
    low, high = spec.train["saving_interval"]
    assert low <= shipped <= high


def test_the_saving_interval_holds_when_every_model_is_about_as_good() -> None:
    """Fold stacks put the promise off the shipped policy's saving on new questions
    (held in 2 of 6 runs); measured on the shipped stack, in 6 of 6."""
    population = _equally_good(10_000, seed=10**6, first=10**6)
    baselines = single_model_figures(OutcomeMatrix.of(population))
    held, cascades = 0, 0
    for seed in range(8):
        policy = calibrate(_equally_good(1000, seed), SearchOptions(seed=seed))
        spec = policy.tasks["t"]
        if len(spec.tiers) == 1:
            continue
        baseline = baselines[spec.train["baseline_model"]].cost_usd
        saving = 1.0 - simulate_policy(policy, population).cost_usd / baseline
        low, high = spec.train["saving_interval"]
        cascades += 1
        held += low <= saving <= high
    assert cascades >= 5
    assert held >= cascades - 1
