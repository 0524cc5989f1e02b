"""The guarded search: a promise with evidence, the baseline when nothing is proven."""

from __future__ import annotations

from dataclasses import replace

import pytest

from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    best_single_model,
    simulate_policy,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.outcomes import OutcomeRecord
from tests.unit_tests.calibration.conftest import synthetic_records

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
