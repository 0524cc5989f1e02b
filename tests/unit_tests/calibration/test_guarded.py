"""The guarded search: a promise with evidence, the baseline when nothing is proven."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from langchain_costrouter.calibration import guarded
from langchain_costrouter.calibration.bounds import loss_upper_bound
from langchain_costrouter.calibration.cells import CellTable, cell_table
from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    best_single_model,
    simulate_policy,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.features import IntArray
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.outcomes import OutcomeRecord
from langchain_costrouter.replay import record_key
from tests.unit_tests.calibration.conftest import synthetic_records
from tests.unit_tests.calibration.repeated import memorised, with_copies

GUARDED = SearchOptions(method="guarded", seed=0)


def test_guarded_policy_states_its_promise_and_keeps_it_on_the_test_half() -> None:
    # 1,000 train rows: with no disagreement at all, n rows bound the loss at about
    # 3.2 / n (bounds.LOSS_SIDE), so 200 could never prove half a point.
    train, test = split_records(synthetic_records(2000), 0.5, seed=0)
    policy = calibrate(train, GUARDED)
    promise = policy.tasks["classification"].train
    assert promise["method"] == "guarded"
    assert promise["allowed_loss"] == 0.005 and promise["confidence"] == 0.95
    assert promise["size"] == len(train)
    low, high = promise["saving_interval"]
    assert low <= promise["expected_saving"] <= high
    low, high = promise["quality_interval"]
    assert low <= promise["expected_quality"] <= high
    # the nested answers' own lower bound (test_quality_lower_bound.py), never above
    # the baseline minus the proven loss
    assert promise["quality_lower_bound"] < promise["expected_quality"]
    assert promise["quality_lower_bound"] <= (
        promise["baseline_quality"] - promise["loss_upper_bound"] + 1e-6
    )
    assert promise["expected_saving"] > 0.3  # the cheap model is right on 60% of rows
    assert promise["loss_upper_bound"] <= promise["allowed_loss"]
    tested = OutcomeMatrix.of(test)
    baseline = single_model_figures(tested)[best_single_model(OutcomeMatrix.of(train))]
    routed = simulate_policy(policy, test)
    assert baseline.quality - routed.quality <= 0.01
    assert routed.cost_usd <= baseline.cost_usd


def test_guarded_is_the_default_method() -> None:
    assert SearchOptions().method == "guarded"


def test_too_few_rows_keep_the_baseline_and_say_so() -> None:
    train = synthetic_records(60)
    policy = calibrate(train, GUARDED)
    spec = policy.tasks["classification"]
    assert spec.tiers == (best_single_model(OutcomeMatrix.of(train)),)
    assert spec.rules == ()
    assert "too few rows" in spec.train["decision"]
    assert spec.train["expected_saving"] == 0.0


def test_a_zero_allowed_loss_on_a_cheap_model_that_is_always_wrong_keeps_the_baseline(
    records: list[OutcomeRecord],
) -> None:
    broken = [
        OutcomeRecord(
            id=r.id,
            task=r.task,
            messages=r.messages,
            reference=r.reference,
            outcomes={
                "cheap": replace(r.outcomes["cheap"], score=0.0),
                "strong": r.outcomes["strong"],
            },
        )
        for r in records
    ]
    policy = calibrate(broken, SearchOptions(method="guarded", max_quality_loss=0.0))
    assert policy.tasks["classification"].tiers == ("strong",)


@pytest.mark.parametrize(
    "options",
    [
        {"method": "bold"},
        {"max_quality_loss": 1.5},
        {"confidence": 1.0},
        {"outer_folds": 1},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SearchOptions(**options)  # type: ignore[arg-type]


def test_the_promise_holds_on_new_prompts_when_the_train_rows_repeat_prompts() -> None:
    # A scorer that saw a copy of the prompt knows the cheap answer's score; on new
    # prompts nothing does, so a promise of a saving from that would not be kept.
    train, unseen = memorised(300, copies=2, seed=0), memorised(600, copies=1, seed=1)
    policy = calibrate(train, GUARDED)
    promise = policy.tasks["qa"].train
    routed = simulate_policy(policy, unseen)
    baseline = single_model_figures(OutcomeMatrix.of(unseen))["strong"]
    saving = 1.0 - routed.cost_usd / baseline.cost_usd
    assert saving >= promise["saving_interval"][0] - 0.02
    assert routed.quality >= promise["quality_interval"][0]


def test_nested_choices_never_see_a_copy_of_a_row_they_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matrix = OutcomeMatrix.of(with_copies(synthetic_records(300)))
    keys = [record_key(r) for r in matrix.records]
    chosen_on: list[IntArray] = []

    def spy(
        matrix: OutcomeMatrix,
        scores: StageScores,
        options: SearchOptions,
        rows: IntArray,
        reference: int,
    ) -> CellTable:
        chosen_on.append(rows)
        return cell_table(matrix, scores, options, rows, reference)

    monkeypatch.setattr(guarded, "cell_table", spy)
    guarded.guarded_search(matrix, GUARDED)
    nested = [rows for rows in chosen_on if len(rows) < matrix.size]
    assert len(nested) == GUARDED.outer_folds
    for kept in nested:
        held = np.setdiff1d(np.arange(matrix.size), kept)
        assert not {keys[i] for i in kept} & {keys[i] for i in held}


def test_a_few_prompts_asked_many_times_keep_the_baseline_and_say_so() -> None:
    # 120 rows but 8 prompts: most outer folds would hold one or two questions.
    train = memorised(8, copies=15, seed=0)
    policy = calibrate(train, GUARDED)
    spec = policy.tasks["qa"]
    assert spec.tiers == ("strong",) and spec.rules == ()
    assert spec.train["decision"] == (
        "too few distinct prompts (8 < 100, in 120 rows): kept the baseline"
    )


def _width(interval: list[float]) -> float:
    return interval[1] - interval[0]


def _noisy(cheap_wrong: float, strong_wrong: float) -> tuple[list[OutcomeRecord], ...]:
    """(300 prompts asked once, each asked five times): the cheap model also wrong on a
    share of easy prompts, the strong one on a share of all."""
    rng = random.Random(1)
    once = []
    for record in synthetic_records(300):
        cheap, strong = record.outcomes["cheap"], record.outcomes["strong"]
        if cheap.score == 1.0 and rng.random() < cheap_wrong:
            cheap = replace(cheap, score=0.0)
        if rng.random() < strong_wrong:
            strong = replace(strong, score=0.0)
        once.append(replace(record, outcomes={"cheap": cheap, "strong": strong}))
    copies = [replace(r, id=f"{r.id}-{copy}") for r in once for copy in range(5)]
    random.Random(0).shuffle(copies)
    return once, copies


def test_copies_of_the_prompts_do_not_narrow_the_promise() -> None:
    # Asking every prompt five times adds no evidence: counting rows, the saving and
    # quality intervals were 0.47 and 0.45 times as wide as on the prompts asked once.
    once, copies = _noisy(0.08, 0.0)
    options = replace(GUARDED, max_quality_loss=0.05)
    alone = calibrate(once, options).tasks["classification"].train
    repeated = calibrate(copies, options).tasks["classification"].train
    for interval in ("saving_interval", "quality_interval"):
        assert _width(alone[interval]) > 0.01
        assert _width(repeated[interval]) >= 0.8 * _width(alone[interval])


def test_the_nested_proof_counts_copies_of_a_prompt_once() -> None:
    # The cascade both loses and wins against the baseline, so how many questions the
    # disagreements are decides the bound: counting prompts, caution 6 is proven within
    # 10 points, its bound 0.0986; the same answers counted as rows: 0.0660.
    matrix = OutcomeMatrix.of(_noisy(0.15, 0.1)[1])
    options = replace(GUARDED, max_quality_loss=0.1)
    scores = StageScores.of(matrix, options.folds, options.seed)
    evidence = guarded._proven_caution(matrix, scores, options, 0.1)
    assert evidence is not None
    pair = (evidence.reference, evidence.quality, options.confidence)
    assert evidence.bound == loss_upper_bound(*pair, matrix.prompt_groups)
    assert evidence.bound.upper > loss_upper_bound(*pair).upper
