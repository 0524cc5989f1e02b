"""Intervals and bounds count prompts, not rows: copies of a prompt are one piece of evidence.

Own traffic asks a prompt again and again, and its copies share their outcomes: a bound
that counts them as independent rows is too tight. Each run draws prompts from a
population whose figures are known, asks every prompt five times (the copies scattered
through the rows), and the share of runs whose interval holds the population's figure
is compared with the confidence.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from langchain_costrouter.calibration.betting import betting_lower_bound
from langchain_costrouter.calibration.bounds import (
    LOSS_SIDE,
    clopper_pearson_upper,
    loss_upper_bound,
    saving_interval,
)
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.groups import group_codes, renumbered
from langchain_costrouter.calibration.quality_bound import quality_interval

PROMPTS, COPIES, RUNS = 300, 5, 300
CONFIDENCE = 0.95

Held = Callable[[list[FloatArray], IntArray | None], bool]


def _asked_again(
    rng: np.random.Generator, columns: list[FloatArray]
) -> tuple[list[FloatArray], IntArray]:
    """Per-prompt columns with every prompt asked ``COPIES`` times, and the rows' groups."""
    prompts = np.repeat(np.arange(PROMPTS), COPIES)[rng.permutation(PROMPTS * COPIES)]
    return [column[prompts] for column in columns], group_codes(prompts.tolist())[0]


def _coverage(
    draw: Callable[[np.random.Generator], list[FloatArray]], held: Held
) -> tuple[float, float]:
    """(share of runs held counting rows, share held counting prompts)."""
    rows = prompts = 0
    for run in range(RUNS):
        rng = np.random.default_rng(run)
        columns, groups = _asked_again(rng, draw(rng))
        rows += held(columns, None)
        prompts += held(columns, groups)
    return rows / RUNS, prompts / RUNS


def _costs(rng: np.random.Generator) -> list[FloatArray]:
    # 60% of prompts are answered by a tier at a fifth of the price, the rest escalate
    # at 5% over it: the population's saving is 1 - (0.6 * 0.2 + 0.4 * 1.05) = 0.46.
    baseline = rng.uniform(1.0, 2.0, PROMPTS)
    return [baseline * np.where(rng.random(PROMPTS) < 0.6, 0.2, 1.05), baseline]


def test_the_saving_interval_resamples_prompts() -> None:
    def held(columns: list[FloatArray], groups: IntArray | None) -> bool:
        low, high = saving_interval(columns[0], columns[1], CONFIDENCE, 0, groups)
        return bool(low <= 0.46 <= high)

    by_row, by_prompt = _coverage(_costs, held)
    assert by_row < 0.8  # rows: about 0.6 of runs, not 0.95
    assert by_prompt >= 0.92


def _scores(rng: np.random.Generator) -> list[FloatArray]:
    # Graded scores, uniform in 0.4-1.0 from prompt to prompt: the population's is 0.7.
    return [rng.uniform(0.4, 1.0, PROMPTS)]


def test_the_quality_interval_counts_prompts() -> None:
    def held(columns: list[FloatArray], groups: IntArray | None) -> bool:
        low, high = quality_interval(columns[0], CONFIDENCE, groups=groups)
        return bool(low <= 0.7 <= high)

    by_row, by_prompt = _coverage(_scores, held)
    assert by_row < 0.8
    assert by_prompt >= 0.92


def _binary_pairs(rng: np.random.Generator) -> list[FloatArray]:
    # Per prompt: both right (85%), the cascade alone wrong (10%), the baseline alone
    # wrong (5%): the population's loss is 0.05.
    draw = rng.random(PROMPTS)
    baseline = np.where(draw < 0.95, 1.0, 0.0)
    cascade = np.where((draw < 0.85) | (draw >= 0.95), 1.0, 0.0)
    return [baseline, cascade]


def _graded_pairs(rng: np.random.Generator) -> list[FloatArray]:
    # Graded scores; the cascade loses 0.03 on average, 0.15 from prompt to prompt.
    baseline = rng.uniform(0.5, 1.0, PROMPTS)
    return [baseline, baseline - rng.normal(0.03, 0.15, PROMPTS)]


def test_the_binary_loss_bound_counts_prompts() -> None:
    def held(columns: list[FloatArray], groups: IntArray | None) -> bool:
        return loss_upper_bound(columns[0], columns[1], CONFIDENCE, groups).upper >= 0.05

    # The union of two Clopper-Pearson bounds is conservative (counting prompts it held
    # in every run), yet counting rows it held in about 90%, under 95% by three of its
    # standard errors (1.3 points over 300 runs).
    by_row, by_prompt = _coverage(_binary_pairs, held)
    assert by_row < 0.92
    assert by_prompt >= 0.92


def test_the_graded_loss_bound_counts_prompts() -> None:
    def held(columns: list[FloatArray], groups: IntArray | None) -> bool:
        return loss_upper_bound(columns[0], columns[1], CONFIDENCE, groups).upper >= 0.03

    by_row, by_prompt = _coverage(_graded_pairs, held)
    assert by_row < 0.85
    assert by_prompt >= 0.92


def _row_saving_interval(cascade: FloatArray, baseline: FloatArray) -> tuple[float, float]:
    """The bootstrap as it resampled rows before prompts were its unit (seed 0)."""
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(8):
        picks = rng.integers(0, len(cascade), size=(50, len(cascade)))
        ratios.append(1.0 - cascade[picks].sum(axis=1) / baseline[picks].sum(axis=1))
    low, high = np.quantile(np.concatenate(ratios), [0.025, 0.975])
    return (float(low), float(high))


@pytest.mark.parametrize("seed", range(20))
def test_distinct_prompts_give_the_per_row_figures_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 3000))
    groups = group_codes([f"prompt {i}" for i in range(size)])[0]
    baseline, cascade = rng.uniform(1.0, 2.0, size), rng.uniform(0.1, 2.0, size)
    saving = saving_interval(cascade, baseline, CONFIDENCE, seed=0, groups=groups)
    assert saving == saving_interval(cascade, baseline, CONFIDENCE, seed=0)
    assert saving == _row_saving_interval(cascade, baseline)
    scores = cascade / 2.0
    interval = quality_interval(scores, CONFIDENCE, groups=groups)
    assert interval == quality_interval(scores, CONFIDENCE)
    assert interval[0] == betting_lower_bound(scores, 0.5 + CONFIDENCE / 2.0)
    graded = loss_upper_bound(baseline / 2.0, scores, CONFIDENCE, groups=groups)
    assert graded == loss_upper_bound(baseline / 2.0, scores, CONFIDENCE)
    diff = (baseline - cascade) / 2.0
    assert graded.upper == -betting_lower_bound(-diff, CONFIDENCE, span=(-1.0, 1.0))
    right, agrees = rng.random(size) < 0.8, rng.random(size) < 0.9
    pair = (right.astype(np.float64), np.where(agrees, right, ~right).astype(np.float64))
    binary = loss_upper_bound(*pair, CONFIDENCE, groups=groups)
    assert binary == loss_upper_bound(*pair, CONFIDENCE)
    losses, wins = int(np.sum(pair[0] > pair[1])), int(np.sum(pair[0] < pair[1]))
    alpha = 1.0 - CONFIDENCE
    upper = clopper_pearson_upper(losses, size, 1.0 - alpha * LOSS_SIDE)
    lower = 1.0 - clopper_pearson_upper(size - wins, size, 1.0 - alpha * (1.0 - LOSS_SIDE))
    assert binary.upper == upper - lower


def test_copies_that_all_disagree_one_way_count_once() -> None:
    # 40 prompts, each asked five times, the cascade winning on 4 of them: the bound is
    # the one of 40 questions with 4 wins, not of 200 rows with 20 (which proves more).
    baseline = np.where(np.arange(40) < 4, 0.0, 1.0)
    cascade = np.ones(40)
    groups = np.repeat(np.arange(40), 5)
    copied = loss_upper_bound(baseline[groups], cascade[groups], CONFIDENCE, groups=groups)
    once = loss_upper_bound(baseline, cascade, CONFIDENCE)
    assert copied.upper == pytest.approx(once.upper)
    assert copied.upper > loss_upper_bound(baseline[groups], cascade[groups], CONFIDENCE).upper


def test_some_rows_prompts_are_renumbered_without_gaps() -> None:
    # Rows of prompts 5, 2 and 9 only (`logprob_stage`): three prompts, not ten.
    assert renumbered(np.array([5, 2, 5, 9])).tolist() == [1, 0, 1, 2]
