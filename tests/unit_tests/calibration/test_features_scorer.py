"""Hashed features, answer agreement and the JSON linear scorer."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from langchain_costrouter.calibration._text_fit import FeatureCache, SparseRows, fit_text_model
from langchain_costrouter.calibration.features import (
    FEATURES_VERSION,
    N_BUCKETS,
    answer_key,
    answers_agree,
    final_number,
    text_features,
)
from langchain_costrouter.calibration.oof import fit_sample
from langchain_costrouter.calibration.scorer import LinearScorer, scorer_from_dense
from langchain_costrouter.calibration.stack import fit_stack, stack_design, stack_probabilities
from langchain_costrouter.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("so 9 * 2 = 18.\n#### 18", "18"),
        ("The answer is 1,250.00 dollars, not 3", "1250"),
        ("total 3 then 7", "7"),
        ("no digits here", None),
    ],
)
def test_final_number(text: str, number: str | None) -> None:
    assert final_number(text) == number


def test_answer_keys_and_agreement() -> None:
    assert answer_key(" Yes. ") == "yes"
    assert answers_agree("Yes", "yes!") is True
    assert answers_agree("No", "Yes") is False
    long_a = "First we add the numbers carefully and then we get #### 42"
    long_b = "Adding all of the numbers, step by step, the total is 42 in the end."
    assert answers_agree(long_a, long_b) is True
    assert answers_agree("", "Yes") is None


def test_features_are_stable_and_in_range() -> None:
    first = text_features("Is it overruling? expressly overruled", "Yes")
    second = text_features("Is it overruling? expressly overruled", "Yes")
    assert np.array_equal(first[0], second[0])
    assert first[0].max() < N_BUCKETS
    assert first[0].min() >= 0
    assert not np.array_equal(first[0], text_features("Is it overruling?", "No")[0])


QUERIES = (
    "Is it overruling? The court expressly overruled Smith v. Jones.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
    "clips in May. How many clips did Natalia sell altogether in April and May? " * 4,
    "Écris un poème sur la mer — en français, s'il te plaît. 日本語も少し。",
    "",
)
ANSWERS = (
    "Yes",
    "no.",
    "",
    "  ",
    "#### 72",
    "The answer is 1,234.50",
    "Natalia sold 48/2 = 24 clips in May. Altogether she sold 48 + 24 = 72 clips. #### 72",
    "La mer est bleue, profonde et calme. " * 120,
    "Perhaps the answer is gamma.",
)


def test_features_are_the_ones_policies_were_fitted_on() -> None:
    """Every bucket and value, bit for bit: a policy file keeps weights by bucket, so a
    faster featuriser must hash the same tokens to the same buckets with the same values
    (the digest is of FEATURES_VERSION 1's features of these pairs)."""
    digest = hashlib.sha256()
    for query in QUERIES:
        for answer in ANSWERS:
            indices, values = text_features(query, answer)
            digest.update(indices.astype("<i8").tobytes() + values.astype("<f8").tobytes() + b"|")
    expected = "a194c098171b1321a9d4b1957fe6403cfef55604b378a5e47f21a932afc767dc"
    assert (FEATURES_VERSION, digest.hexdigest()) == (1, expected)


def test_scorer_learns_and_round_trips_through_json() -> None:
    pairs = [(f"about {w} {i}", "Yes") for i, w in enumerate(["easy", "hard"] * 50)]
    labels = np.array([1.0 if "easy" in q else 0.0 for q, _ in pairs])
    weights, bias = fit_text_model(SparseRows.from_pairs(pairs), labels)
    scorer = scorer_from_dense(
        weights, bias, {"text": 1.0, "agree": 2.0, "disagree": -2.0, "bias": 0.0}
    )
    easy, hard = scorer.score("about easy 999", "Yes"), scorer.score("about hard 999", "Yes")
    assert easy > 0.8 > 0.2 > hard
    assert scorer.score("about hard 999", "Yes", ["Yes"]) > hard
    loaded = LinearScorer.from_json(json.loads(json.dumps(scorer.to_json())))
    assert loaded.score("about easy 1", "Yes", ["No"]) == pytest.approx(
        scorer.score("about easy 1", "Yes", ["No"]), abs=1e-4
    )


def test_scorer_of_another_layout_is_rejected() -> None:
    with pytest.raises(ConfigError, match="hashed-logistic"):
        LinearScorer.from_json({"kind": "distilbert"})


def test_stack_fit_stays_finite_on_separable_data() -> None:
    logits = np.linspace(-3, 3, 200)
    relations = np.column_stack([(logits > 0).astype(float), (logits <= 0).astype(float)])
    labels = (logits > 0).astype(float)
    stack = fit_stack(stack_design(logits, relations, np.zeros(200)), labels)
    assert all(np.isfinite(value) and abs(value) < 50 for value in stack.values())
    probabilities = stack_probabilities(stack, stack_design(logits, relations, np.zeros(200)))
    assert probabilities[labels == 1].min() > probabilities[labels == 0].max()


def test_previous_tier_layer_moves_the_score_and_round_trips() -> None:
    pairs = [(f"about {w} {i}", "Yes") for i, w in enumerate(["easy", "hard"] * 50)]
    labels = np.array([1.0 if "easy" in q else 0.0 for q, _ in pairs])
    weights, bias = fit_text_model(SparseRows.from_pairs(pairs), labels)
    witness = scorer_from_dense(weights, bias, None)
    stack = {"text": 0.0, "previous_agree": 1.0, "previous_disagree": -1.0, "bias": 0.0}
    scorer = scorer_from_dense(np.zeros(N_BUCKETS), 0.0, stack, previous=witness)
    agreeing = scorer.score("about easy 7", "Yes", ["Yes"])
    contradicting = scorer.score("about easy 7", "No", ["Yes"])
    assert agreeing > 0.8 > 0.2 > contradicting
    assert scorer.score("about easy 7", "No") == pytest.approx(0.5)
    loaded = LinearScorer.from_json(json.loads(json.dumps(scorer.to_json())))
    assert loaded.score("about easy 7", "No", ["Yes"]) == pytest.approx(contradicting, abs=1e-4)


def _row(matrix: SparseRows, row: int) -> tuple[np.ndarray, np.ndarray]:
    span = slice(int(matrix.indptr[row]), int(matrix.indptr[row + 1]))
    return matrix.indices[span], matrix.values[span]


def test_matrix_rows_equal_each_pairs_features_with_repeats_and_a_shared_cache() -> None:
    first = [("what is 2+2", "4"), ("what is 2+2", "five"), ("q two", "4"), ("what is 2+2", "4")]
    second = [("q two", "4"), ("a new query", "Yes")]
    cache: FeatureCache = {}
    for pairs in (first, second):  # the second call copies ("q two", "4") from the first
        matrix = SparseRows.from_pairs(pairs, cache)
        assert len(matrix) == len(pairs)
        for row, (query, answer) in enumerate(pairs):
            indices, values = text_features(query, answer)
            assert np.array_equal(_row(matrix, row)[0], indices)
            assert np.array_equal(_row(matrix, row)[1], values)
    assert set(cache) == set(first) | set(second)


def test_take_picks_rows_in_the_order_asked() -> None:
    matrix = SparseRows.from_pairs([(f"question {i}", f"answer {i % 3}") for i in range(6)])
    picked = matrix.take(np.array([4, 0, 4, 2]))
    for row, source in enumerate([4, 0, 4, 2]):
        assert np.array_equal(_row(picked, row)[0], _row(matrix, source)[0])
        assert np.array_equal(_row(picked, row)[1], _row(matrix, source)[1])
    assert len(matrix.take(np.zeros(0, dtype=np.int64))) == 0


def test_fit_sample_keeps_small_folds_and_spans_large_ones_evenly() -> None:
    rows = np.arange(0, 200, 2)
    assert fit_sample(rows, limit=100) is rows
    sample = fit_sample(rows, limit=10)
    assert len(np.unique(sample)) == 10
    assert sample[0] == rows[0] and sample[-1] == rows[-1]
    assert set(sample) <= set(rows)
