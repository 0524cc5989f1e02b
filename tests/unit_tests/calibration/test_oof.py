"""Out-of-fold stage scores: folds keep copies of a prompt together, so no score remembers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray, answer_key, keys_agreement
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


def test_agreement_is_each_row_s_keys_agreement_computed_once() -> None:
    """The guarded search asks a pair's agreement once per cascade and fold: on OVERRULING
    1,377 times over 1,080 rows, a small array per row each time."""
    texts = ["Yes", "no.", "", "The total is 42", "a long answer without any number in it at all"]
    records = []
    for index, record in enumerate(synthetic_records(40)):
        outcomes = {
            "cheap": replace(record.outcomes["cheap"], text=texts[index % 5]),
            "strong": replace(record.outcomes["strong"], text=texts[(index // 5) % 5]),
        }
        records.append(replace(record, outcomes=outcomes))
    scores = StageScores.of(OutcomeMatrix.of(records), 5, 0)
    cheap, strong = scores.matrix.models.index("cheap"), scores.matrix.models.index("strong")
    relations = scores.agreement(strong, cheap)
    expected = [
        keys_agreement(
            answer_key(r.outcomes["strong"].text or ""), answer_key(r.outcomes["cheap"].text or "")
        )
        for r in records
    ]
    assert relations.dtype == np.float64
    assert np.array_equal(relations, np.array(expected))
    assert {tuple(row) for row in relations.tolist()} == {(1.0, 0.0), (0.0, 1.0), (0.0, 0.0)}
    assert scores.agreement(strong, cheap) is relations
    with pytest.raises(ValueError, match="read-only"):
        relations[0, 0] = 5.0
