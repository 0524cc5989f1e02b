"""The guarded search's quality lower bound holds the task's true quality at its confidence.

Drift holds live traffic to ``quality_lower_bound``. It was the baseline's train mean minus
the loss bound, so a policy that kept the baseline (loss bound 0) was held to its own
train mean, which the baseline's true quality is under about half the time: on GSM8K
(seeds 0-99 of bench/calibration_stability.py) the test half was under it in 52 splits.
Each run here draws a task from a population whose quality is known and counts the runs
whose bound is at or under it.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from langchain_costrouter.calibration.bounds import clopper_pearson_upper
from langchain_costrouter.calibration.groups import group_codes
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord

STRONG_QUALITY, RUNS = 0.8, 200


def _task(size: int, seed: int, graded: bool = False) -> list[OutcomeRecord]:
    """The strong model right with probability 0.8 (graded: a score of mean 0.8), the
    cheap one seldom: no cascade keeps quality, so the baseline is kept."""
    rng = random.Random(seed)
    records = []
    for index in range(size):
        strong = rng.choice((0.6, 1.0)) if graded else float(rng.random() < STRONG_QUALITY)
        cheap = float(rng.random() < 0.3)
        outcomes = {
            "cheap": ModelOutcome(cheap, "a" if cheap else "b", cost_usd=0.001),
            "strong": ModelOutcome(strong, "a" if strong else "b", cost_usd=0.03),
        }
        prompt = ({"role": "user", "content": f"Question {index}?"},)
        records.append(OutcomeRecord(f"r{index}", "t", prompt, outcomes, reference="a"))
    return records


@pytest.mark.parametrize("graded", [False, True])
def test_a_kept_baseline_is_promised_no_more_than_its_true_quality_at_the_confidence(
    graded: bool,
) -> None:
    held = 0
    for seed in range(RUNS):
        policy = calibrate(_task(80, seed, graded), SearchOptions(method="guarded", seed=seed))
        train = policy.tasks["t"].train
        assert "kept the baseline" in train["decision"]
        held += train["quality_lower_bound"] <= STRONG_QUALITY
    assert held / RUNS >= 0.93  # was 105 and 110 of 200 (0/1, graded): the train mean


def test_the_bound_is_exact_on_0_1_scores_and_never_above_baseline_minus_loss() -> None:
    policy = calibrate(_task(80, 3), SearchOptions(method="guarded", seed=3))
    train = policy.tasks["t"].train
    right = round(train["baseline_quality"] * 80)
    exact = 1.0 - clopper_pearson_upper(80 - right, 80, 0.95)
    assert train["quality_lower_bound"] == pytest.approx(exact, abs=1e-6)
    assert train["quality_lower_bound"] < train["baseline_quality"] - train["loss_upper_bound"]


def test_all_right_on_train_is_not_promised_perfection() -> None:
    from langchain_costrouter.calibration.quality_bound import quality_lower_bound

    bound = quality_lower_bound(np.ones(80), 0.95)
    assert bound == pytest.approx(0.05 ** (1 / 80))  # exact: the rule of three's cousin
    assert bound < 1.0


def test_copies_of_a_prompt_count_once() -> None:
    from langchain_costrouter.calibration.quality_bound import quality_lower_bound

    rng = np.random.default_rng(0)
    scores = (rng.random(200) < 0.8).astype(np.float64)
    prompts = np.repeat(np.arange(200), 5)
    copied = scores[prompts]
    groups = group_codes(prompts.tolist())[0]
    alone = quality_lower_bound(scores, 0.95)
    counted = quality_lower_bound(copied, 0.95, groups)
    assert alone - 6e-3 <= counted <= alone  # trials rounded down: never bolder
    assert quality_lower_bound(copied, 0.95) > alone + 0.02  # counted as rows: too tight


def test_the_quality_interval_of_0_1_scores_has_width_however_few_the_rows() -> None:
    """A t interval of answers all right has no width: a task of 15 train rows, all right,
    printed 'expected quality 1.0000 [1.0000, 1.0000]', certainty from 15 questions."""
    from langchain_costrouter.calibration.quality_bound import quality_interval

    assert quality_interval(np.ones(15), 0.95) == pytest.approx((0.025 ** (1 / 15), 1.0))
    assert quality_interval(np.zeros(15), 0.95) == pytest.approx((0.0, 1 - 0.025 ** (1 / 15)))
    low, high = quality_interval(np.array([1.0] * 12 + [0.0] * 3), 0.95)
    assert low < 0.8 < high
    graded = np.array([1.0] * 13 + [0.5, 0.75])  # the t interval ran to 1.0276
    low, high = quality_interval(graded, 0.95)
    assert 0.0 < low < float(graded.mean()) < high <= 1.0
    assert quality_interval(1.0 - graded, 0.95) == pytest.approx((1.0 - high, 1.0 - low))


def test_the_quality_interval_holds_the_true_quality_at_its_confidence() -> None:
    from langchain_costrouter.calibration.quality_bound import quality_interval

    rng = np.random.default_rng(1)
    runs, held = 2000, 0
    for _ in range(runs):
        low, high = quality_interval((rng.random(20) < 0.95).astype(np.float64), 0.95)
        held += low <= 0.95 <= high
    assert held / runs >= 0.95  # the t interval held 62%: 20 of 20 right is 36% likely


def test_a_task_of_few_rows_all_right_is_not_promised_a_certain_quality() -> None:
    records = [
        OutcomeRecord(
            f"r{index}", "t", ({"role": "user", "content": f"Question {index}?"},),
            {"cheap": ModelOutcome(0.0, "b", 0.001), "strong": ModelOutcome(1.0, "a", 0.03)},
        )
        for index in range(15)
    ]  # fmt: skip
    train = calibrate(records, SearchOptions(method="guarded")).tasks["t"].train
    low, high = train["quality_interval"]
    assert (low, high) == pytest.approx((0.025 ** (1 / 15), 1.0), abs=1e-6)
    assert train["quality_lower_bound"] == pytest.approx(0.05 ** (1 / 15), abs=1e-6)
