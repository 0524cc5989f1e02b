"""The replay run: the router's ledger as the source of every routed figure."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from langchain_costrouter import ConfigError
from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy
from langchain_costrouter.calibration.report import replay_split, with_split
from langchain_costrouter.calibration.run import (
    RunSummary,
    outcome_cost,
    replay_router,
    run_records,
    served_calls,
)
from langchain_costrouter.errors import UnknownPriceWarning
from langchain_costrouter.ledger import LedgerRow
from langchain_costrouter.outcomes import ModelOutcome
from langchain_costrouter.pricing import PriceTable
from tests.unit_tests.calibration.repeated import AGREE_OR_ESCALATE, asked_twice
from tests.unit_tests.cli.outcome_files import CHEAP, DEAR, MIDDLE, synthetic_records

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def cascade(rule: StageRule) -> Policy:
    tasks = {
        task: TaskPolicy(tiers=(CHEAP, DEAR), rules=(rule,)) for task in ("sentiment", "triage")
    }
    return Policy(tasks=tasks)


def test_an_always_escalating_cascade_pays_both_tiers_and_scores_the_dear_one() -> None:
    records = synthetic_records(20)
    # Agreement on the first tier has nothing to agree with: every call escalates.
    calls = run_records(replay_router(cascade(StageRule("agreement", 1.0)), records), records)
    summary = RunSummary.of(calls)
    assert summary.calls_by_model == {CHEAP: 20, DEAR: 20}
    assert summary.escalations == 20
    assert summary.quality == 1.0
    recorded = sum(r.outcomes[CHEAP].cost_usd + r.outcomes[DEAR].cost_usd for r in records)
    assert summary.cost_usd == pytest.approx(recorded)
    assert all(call.model == DEAR and call.attempted == (CHEAP, DEAR) for call in calls)


def test_an_accepting_cascade_scores_the_cheap_answers() -> None:
    records = synthetic_records(20)
    calls = run_records(replay_router(cascade(StageRule("agreement", 0.0)), records), records)
    summary = RunSummary.of(calls)
    assert summary.calls_by_model == {CHEAP: 20}
    assert summary.quality == pytest.approx(sum(r.outcomes[CHEAP].score for r in records) / 20)
    assert summary.escalations == 0


def test_rows_of_other_runs_are_ignored() -> None:
    (record,) = synthetic_records(1)
    rows = [
        LedgerRow(time=NOW, run_id="other", model=DEAR, cost_usd=Decimal("9")),
        LedgerRow(time=NOW, run_id="mine", model=CHEAP, cost_usd=Decimal("0.1"), accepted=False),
        LedgerRow(time=NOW, run_id="mine", model=MIDDLE, cost_usd=Decimal("0.2"), attempt=1),
    ]
    (call,) = served_calls(rows, {"mine": record})
    assert (call.model, call.cost_usd, call.attempted) == (MIDDLE, Decimal("0.3"), (CHEAP, MIDDLE))
    assert call.quality == record.outcomes[MIDDLE].score


def test_an_unknown_cost_in_the_ledger_is_an_error_not_zero() -> None:
    (record,) = synthetic_records(1)
    rows = [LedgerRow(time=NOW, run_id="mine", model=CHEAP, cost_usd=None)]
    with pytest.raises(ConfigError, match="unknown"):
        served_calls(rows, {"mine": record})


def test_outcome_cost_prices_tokens_like_the_router() -> None:
    cost = outcome_cost()
    priced = PriceTable().price(
        "gpt-4o", {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
    )
    assert priced.cost_usd is not None
    assert cost(
        "gpt-4o", ModelOutcome(1.0, "x", input_tokens=1000, output_tokens=100)
    ) == pytest.approx(float(priced.cost_usd))
    assert cost("anything", ModelOutcome(1.0, "x", cost_usd=0.25)) == 0.25
    with pytest.raises(ConfigError, match="neither cost_usd"):
        cost("gpt-4o", ModelOutcome(1.0, "x", input_tokens=10))


def test_tokens_of_an_unpriced_model_are_one_error_without_a_warning() -> None:
    unknown = ModelOutcome(1.0, "x", input_tokens=10, output_tokens=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownPriceWarning)  # a warning first fails here
        with pytest.raises(
            ConfigError, match="'in-house-7b' has token counts but no price"
        ) as caught:
            outcome_cost()("in-house-7b", unknown)
    assert "cost_usd" in str(caught.value) and "overrides" in str(caught.value)


def test_a_repeated_prompt_is_replayed_with_each_records_own_outcomes() -> None:
    records = asked_twice()
    calls = run_records(replay_router(AGREE_OR_ESCALATE, records), records)
    assert [(call.record.id, call.model) for call in calls] == [
        ("agrees", MIDDLE),
        ("differs", DEAR),
    ]
    assert [call.quality for call in calls] == [1.0, 1.0]
    assert [call.cost_usd for call in calls] == [Decimal("0.021"), Decimal("0.571")]


def test_replay_uses_the_recorded_split_only_on_the_same_records() -> None:
    records = synthetic_records(40)
    policy = with_split(cascade(StageRule("agreement", 1.0)), records, 0.5, seed=3)
    train, test = replay_split(policy, records)
    assert (len(train), len(test)) == (20, 20)
    assert not {r.id for r in train} & {r.id for r in test}
    others = synthetic_records(40, seed=1, prefix="other")
    assert replay_split(policy, others) == ([], others)
