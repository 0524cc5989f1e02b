"""Loss bounds of the guarded search, against known values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from langchain_costrouter.calibration.betting import betting_lower_bound
from langchain_costrouter.calibration.bounds import (
    LOSS_SIDE,
    binomial_cdf,
    clopper_pearson_upper,
    loss_upper_bound,
    saving_interval,
)


@pytest.mark.parametrize(
    ("successes", "trials", "expected"), [(0, 10, 0.2589), (5, 20, 0.4556), (3, 100, 0.0757)]
)
def test_clopper_pearson_matches_published_values(
    successes: int, trials: int, expected: float
) -> None:
    assert clopper_pearson_upper(successes, trials, 0.95) == pytest.approx(expected, abs=1e-4)


def test_binomial_cdf_sums_to_one_and_matches_a_hand_count() -> None:
    assert binomial_cdf(10, 10, 0.3) == pytest.approx(1.0)
    assert binomial_cdf(1, 3, 0.5) == pytest.approx(0.5)  # (1 + 3) / 8


def test_identical_answers_have_no_loss_but_a_bound_above_zero() -> None:
    # No disagreement in 4 questions does not prove none in the population: the bound is
    # the losses' Clopper-Pearson upper bound of 0 in 4 (McNemar's said 0).
    scores = np.array([1.0, 0.0, 1.0, 1.0])
    bound = loss_upper_bound(scores, scores, 0.95)
    assert (bound.loss, bound.disagreements) == (0.0, 0)
    assert bound.upper == pytest.approx(1.0 - (0.05 * LOSS_SIDE) ** (1 / 4))


def test_binary_bound_is_the_losses_upper_less_the_wins_lower() -> None:
    baseline = np.array([1.0] * 90 + [1.0] * 6 + [0.0] * 4)
    cascade = np.array([1.0] * 90 + [0.0] * 6 + [1.0] * 4)
    bound = loss_upper_bound(baseline, cascade, 0.95)
    losses = clopper_pearson_upper(6, 100, 1.0 - 0.05 * LOSS_SIDE)
    wins = 1.0 - clopper_pearson_upper(96, 100, 1.0 - 0.05 * (1.0 - LOSS_SIDE))
    assert bound.loss == pytest.approx(0.02)
    assert bound.upper == pytest.approx(losses - wins)
    assert bound.upper > bound.loss


def test_graded_scores_use_the_betting_bound_on_differences_in_minus_one_to_one() -> None:
    rng = np.random.default_rng(0)
    baseline = rng.uniform(0.5, 1.0, 200)
    cascade = baseline - rng.normal(0.01, 0.05, 200)
    diff = baseline - cascade
    bound = loss_upper_bound(baseline, cascade, 0.95)
    assert bound.upper == -betting_lower_bound(-diff, 0.95, span=(-1.0, 1.0))
    assert diff.mean() < bound.upper < diff.mean() + 0.05


def test_an_empty_sample_proves_nothing() -> None:
    assert loss_upper_bound(np.array([]), np.array([]), 0.95).upper == math.inf


def test_saving_interval_brackets_the_saving() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(1.0, 2.0, 500)
    cost = base * rng.uniform(0.1, 0.3, 500)
    low, high = saving_interval(cost, base, 0.95, seed=0)
    saving = 1 - cost.sum() / base.sum()
    assert low < saving < high
    assert high - low < 0.05
