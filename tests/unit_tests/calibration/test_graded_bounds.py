"""Graded scores' bounds hold on small samples, whatever the scores' distribution.

A Student t bound cannot see a tail its sample missed: scores near 1 with a few percent
of them near 0 give 15-row samples that are all near 1 a fair share of the time, and the
t bound, sure of them, sat above the true quality in about 40% of draws. Calibration's
promises are checked on data it never sees, so each test here draws samples from a
population whose mean is known and counts the draws whose bound holds it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from langchain_costrouter.calibration.bounds import loss_upper_bound
from langchain_costrouter.calibration.features import FloatArray
from langchain_costrouter.calibration.groups import group_codes
from langchain_costrouter.calibration.quality_bound import quality_interval, quality_lower_bound

DRAWS, CONFIDENCE = 200, 0.95
T_QUANTILE_999 = 1.6464
"""Student's t quantile at 95% with 999 degrees of freedom."""


def _skewed(rng: np.random.Generator, size: int) -> FloatArray:
    """Graded scores: 5% near 0 (0-0.1), the rest 0.8-1.0; the mean is 0.8575."""
    tail = rng.random(size) < 0.05
    return np.where(tail, rng.uniform(0.0, 0.1, size), rng.uniform(0.8, 1.0, size))


SKEWED_MEAN = 0.05 * 0.05 + 0.95 * 0.9


@pytest.mark.parametrize("size", [15, 40, 100])
def test_the_quality_lower_bound_holds_a_skewed_mean_on_few_rows(size: int) -> None:
    held = sum(
        quality_lower_bound(_skewed(np.random.default_rng(seed), size), CONFIDENCE) <= SKEWED_MEAN
        for seed in range(DRAWS)
    )
    assert held / DRAWS >= 0.93  # the t bound: 117, 172 and 172 of 200


def test_the_quality_interval_holds_a_skewed_mean_on_few_rows() -> None:
    held = 0
    for seed in range(DRAWS):
        low, high = quality_interval(_skewed(np.random.default_rng(seed), 15), CONFIDENCE)
        held += low <= SKEWED_MEAN <= high
    assert held / DRAWS >= 0.93


def test_the_graded_loss_bound_holds_a_rare_large_loss_on_few_rows() -> None:
    # The cascade loses 0.6 on 5% of questions and wins 0.02 elsewhere: the mean loss
    # is 0.011, and 15 questions miss the loss altogether about half the time.
    loss = 0.05 * 0.6 - 0.95 * 0.02
    held = 0
    for seed in range(DRAWS):
        rng = np.random.default_rng(seed)
        baseline = rng.uniform(0.7, 1.0, 15)
        cascade = np.where(rng.random(15) < 0.05, baseline - 0.6, baseline + 0.02)
        held += loss_upper_bound(baseline, np.clip(cascade, 0, 1), CONFIDENCE).upper >= loss
    assert held / DRAWS >= 0.93


def test_the_edges_are_bounded_validly() -> None:
    from langchain_costrouter.calibration.betting import betting_lower_bound

    ones, zeros = np.ones(15), np.zeros(15)
    assert 0.0 < betting_lower_bound(ones, CONFIDENCE) < 1.0
    assert betting_lower_bound(zeros, CONFIDENCE) == 0.0
    assert betting_lower_bound(np.array([0.9]), CONFIDENCE) == 0.0  # one question: nothing
    constant = np.full(15, 0.7)  # graded, no spread: the t bound said 0.7 exactly
    assert 0.0 < quality_lower_bound(constant, CONFIDENCE) < 0.7
    low, high = quality_interval(constant, CONFIDENCE)
    assert low < 0.7 < high
    # one prompt asked 15 times is one question, not 15
    assert quality_lower_bound(constant, CONFIDENCE, np.zeros(15, dtype=np.int64)) < 0.1
    same = loss_upper_bound(np.full(15, 0.7), np.full(15, 0.7), CONFIDENCE)
    assert 0.0 < same.upper < 1.0  # no loss seen in 15 questions is not no loss


def test_the_bound_does_not_depend_on_the_rows_order() -> None:
    from langchain_costrouter.calibration.betting import betting_lower_bound

    values = _skewed(np.random.default_rng(0), 300)
    shuffled = values[np.random.default_rng(1).permutation(300)]
    assert betting_lower_bound(values, CONFIDENCE) == betting_lower_bound(shuffled, CONFIDENCE)
    assert betting_lower_bound(np.sort(values), CONFIDENCE) == betting_lower_bound(
        values, CONFIDENCE
    )


def test_distinct_prompts_give_the_per_row_bound_bit_for_bit() -> None:
    from langchain_costrouter.calibration.betting import betting_lower_bound

    values = _skewed(np.random.default_rng(2), 500)
    groups = group_codes([f"prompt {i}" for i in range(500)])[0]
    assert betting_lower_bound(values, CONFIDENCE, groups) == betting_lower_bound(
        values, CONFIDENCE
    )


def _t_half_width(values: FloatArray) -> float:
    return T_QUANTILE_999 * float(np.std(values, ddof=1)) / math.sqrt(len(values))


@pytest.mark.parametrize("seed", range(5))
def test_on_many_rows_the_bound_is_not_much_wider_than_t(seed: int) -> None:
    values = np.random.default_rng(seed).uniform(0.5, 1.0, 1000)
    half = float(values.mean()) - quality_lower_bound(values, CONFIDENCE)
    assert 0.0 < half <= 1.6 * _t_half_width(values)  # 1.49 for these draws


def test_copies_weigh_as_rows_when_their_number_goes_with_the_quality() -> None:
    """The promise is the mean over rows (live calls): popular prompts weigh more.

    Prompts right (1.0) are asked 4 times, wrong ones (0.4) once, half of each: the
    rows' mean is (4 + 0.4) / 5 = 0.88, the prompts' 0.7. A bound on the prompts'
    mean would hold the rows' mean trivially; one that counted the copies as
    independent rows would be too tight. Both ways are checked against 0.88.
    """
    held, bounds = 0, []
    for seed in range(DRAWS):
        rng = np.random.default_rng(seed)
        right = rng.random(60) < 0.5
        copies = np.where(right, 4, 1)
        prompts = np.repeat(np.arange(60), copies)
        values = np.where(right, 1.0, 0.4)[prompts]
        bound = quality_lower_bound(values, CONFIDENCE, group_codes(prompts.tolist())[0])
        held += bound <= 0.88
        bounds.append(bound)
    assert held / DRAWS >= 0.93
    assert float(np.mean(bounds)) > 0.7  # the rows' mean is bounded, not the prompts'
