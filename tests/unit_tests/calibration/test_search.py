"""Policy search, the policy file and the run-time checks on synthetic outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    best_single_model,
    oracle_figures,
    savings_pct,
    simulate_policy,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.policy import load_policy, save_policy
from langchain_costrouter.calibration.runtime import (
    LearnedScorerCheck,
    TierAgreementCheck,
    policy_to_routes,
)
from langchain_costrouter.calibration.search import SearchOptions, calibrate
from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.outcomes import OutcomeRecord
from langchain_costrouter.replay import ReplayChatModel

ROOMY = SearchOptions(seed=0, max_quality_loss=0.02)
"""200 train rows prove 2 points, not the default half point (about 650 questions with no
disagreement at all, calibration/bounds.py); the tests' quality bars hold 2 points."""


def test_split_is_deterministic_and_disjoint(records: list[OutcomeRecord]) -> None:
    train, test = split_records(records, 0.5, seed=3)
    again, _ = split_records(records, 0.5, seed=3)
    other, _ = split_records(records, 0.5, seed=4)
    assert [r.id for r in train] == [r.id for r in again]
    assert [r.id for r in train] != [r.id for r in other]
    assert len(train) == len(test) == 200
    assert not {r.id for r in train} & {r.id for r in test}


def test_oracle_and_single_models(records: list[OutcomeRecord]) -> None:
    matrix = OutcomeMatrix.of(records)
    assert matrix.models == ("cheap", "strong")
    assert best_single_model(matrix) == "strong"
    oracle = oracle_figures(matrix)
    singles = single_model_figures(matrix)
    assert oracle.quality == 1.0
    assert oracle.cost_usd < singles["strong"].cost_usd
    assert oracle.calls_by_model["cheap"] == sum(r.outcomes["cheap"].score for r in records)


def test_calibrated_cascade_keeps_quality_and_saves(records: list[OutcomeRecord]) -> None:
    train, test = split_records(records, 0.5, seed=0)
    policy = calibrate(train, ROOMY)
    spec = policy.tasks["classification"]
    assert spec.tiers == ("cheap", "strong")
    assert spec.rules[0].kind == "scorer"
    figures = simulate_policy(policy, test)
    strong = single_model_figures(OutcomeMatrix.of(test))["strong"]
    assert figures.quality >= strong.quality - 0.02
    assert figures.quality <= oracle_figures(OutcomeMatrix.of(test)).quality
    assert savings_pct(figures.cost_usd, strong.cost_usd) > 40


def test_policy_file_round_trip(records: list[OutcomeRecord], tmp_path: Path) -> None:
    policy = calibrate(records[:200], ROOMY)
    for inline in (True, False):
        path = save_policy(policy, tmp_path / f"policy_{inline}.json", inline_scorers=inline)
        loaded = load_policy(path)
        assert loaded.tasks["classification"].tiers == policy.tasks["classification"].tiers
        assert simulate_policy(loaded, records[200:]) == pytest.approx(
            simulate_policy(policy, records[200:])
        )
    assert list(tmp_path.glob("policy_False.classification.0.scorer.json"))


def test_bad_policy_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        '{"kind": "costrouter-policy", "version": 1, "tasks": {"x": {"tiers": ["a", "b"]}}}'
    )
    with pytest.raises(ConfigError, match="needs 1 rules"):
        load_policy(path)


def test_runtime_checks_follow_the_protocol(records: list[OutcomeRecord]) -> None:
    policy = calibrate(records[:200], ROOMY)
    models = {m: ReplayChatModel(records=records, model_name=m) for m in ("cheap", "strong")}
    routes = policy_to_routes(policy, models)
    (cheap, check, threshold), (strong, last_check, _) = routes["classification"]
    assert cheap is models["cheap"]
    assert strong is models["strong"]
    assert last_check is None
    assert isinstance(check, LearnedScorerCheck)
    assert isinstance(check, QualityCheck)
    easy = [HumanMessage("Question 1 about apple?")]
    hard = [HumanMessage("Question 1 about quantum?")]
    assert (
        check.evaluate(easy, AIMessage("Yes")).score
        >= threshold
        > check.evaluate(hard, AIMessage("Yes")).score
    )
    with pytest.raises(ConfigError, match="no chat model"):
        policy_to_routes(policy, {"cheap": models["cheap"]})


async def test_agreement_check() -> None:
    check = TierAgreementCheck()
    assert isinstance(check, QualityCheck)
    question = [HumanMessage("q")]
    assert check.evaluate(question, AIMessage("Yes"), previous=[AIMessage("yes.")]).score == 1.0
    assert (
        await check.aevaluate(question, AIMessage("Yes"), previous=[AIMessage("No")])
    ).score == 0.0
    assert check.evaluate(question, AIMessage("Yes")).score == 0.0
