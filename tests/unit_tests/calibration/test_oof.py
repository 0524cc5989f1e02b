"""Out-of-fold stage scores: folds keep copies of a prompt together, so no score remembers."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray
from langchain_costrouter.calibration.oof import StageScores, fold_ids
from langchain_costrouter.replay import record_key
from tests.unit_tests.calibration.conftest import synthetic_records
from tests.unit_tests.calibration.repeated import memorised, split_groups, with_copies


def _auc(scores: FloatArray, labels: FloatArray) -> float:
    right, wrong = scores[labels == 1.0], scores[labels == 0.0]
    above = (right[:, None] > wrong[None, :]).mean()
    return float(above + 0.5 * (right[:, None] == wrong[None, :]).mean())


def test_stage_score_folds_keep_copies_of_a_prompt_together() -> None:
    matrix = OutcomeMatrix.of(with_copies(synthetic_records(300)))
    folds = StageScores.of(matrix, 5, 0).folds
    assert not split_groups([record_key(r) for r in matrix.records], folds.tolist())
    counts = np.bincount(folds, minlength=5)
    assert counts.max() - counts.min() <= 3  # the largest prompt group


def test_out_of_fold_scores_do_not_remember_a_copy_of_the_prompt() -> None:
    # Only memorising a prompt tells right from wrong here: out of fold, nothing can.
    matrix = OutcomeMatrix.of(memorised(300, copies=2, seed=0))
    scores = StageScores.of(matrix, 5, 0).first_stage(0)
    assert _auc(scores, matrix.quality[:, 0]) < 0.65


@pytest.mark.parametrize(("size", "folds", "seed"), [(400, 5, 0), (37, 5, 3), (9, 2, 1)])
def test_distinct_prompts_keep_the_row_folds(size: int, folds: int, seed: int) -> None:
    keys = [f"prompt {n}" for n in range(size)]
    expected = np.random.default_rng(seed).permutation(size) % folds
    assert np.array_equal(fold_ids(keys, folds, seed), expected)


def test_a_large_prompt_group_fills_one_fold_and_the_rest_balance() -> None:
    keys = ["popular"] * 40 + [f"prompt {n}" for n in range(60)]
    folds = fold_ids(keys, 5, 0)
    assert len(set(folds[:40].tolist())) == 1
    counts = np.bincount(folds, minlength=5)
    assert sorted(counts.tolist()) == [15, 15, 15, 15, 40]
    assert np.array_equal(fold_ids(keys, 5, 0), folds)
