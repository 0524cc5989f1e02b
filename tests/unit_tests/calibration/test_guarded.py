"""The guarded search: a promise with evidence, the baseline when nothing is proven."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from langchain_costrouter.calibration import guarded
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


def test_guarded_policy_states_its_promise_and_keeps_it_on_the_test_half(
    records: list[OutcomeRecord],
) -> None:
    train, test = split_records(records, 0.5, seed=0)
    policy = calibrate(train, GUARDED)
    promise = policy.tasks["classification"].train
    assert promise["method"] == "guarded"
    assert promise["allowed_loss"] == 0.005 and promise["confidence"] == 0.95
    assert promise["size"] == len(train)
    low, high = promise["saving_interval"]
    assert low <= promise["expected_saving"] <= high
    low, high = promise["quality_interval"]
    assert low <= promise["expected_quality"] <= high
    assert promise["quality_lower_bound"] == pytest.approx(
        promise["baseline_quality"] - promise["loss_upper_bound"], abs=1e-5
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
