"""A policy as the router's routes, from code (the config file: integration tests)."""

from __future__ import annotations

import pytest

from langchain_costrouter import ConfigError, Deployment, ReplayChatModel
from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy
from langchain_costrouter.calibration.policy_routes import policy_digest, routes_from_policy
from langchain_costrouter.calibration.runtime import LearnedScorerCheck, TierAgreementCheck
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.unit_tests.cli.outcome_files import CHEAP, DEAR, MIDDLE, synthetic_records

SCORER = LinearScorer(weights={3: 0.5}, bias=1.0)
SCORER_RULE = StageRule("scorer", 0.5, SCORER)


def three_tier_policy(threshold: float = 0.7) -> Policy:
    rules = (StageRule("scorer", threshold, SCORER), StageRule("agreement", 1.0))
    return Policy(tasks={"triage": TaskPolicy(tiers=(CHEAP, MIDDLE, DEAR), rules=rules)})


@pytest.fixture
def replay_models() -> dict[str, ReplayChatModel]:
    records = synthetic_records(10)
    return {
        name: ReplayChatModel(records=records, model_name=name) for name in (CHEAP, MIDDLE, DEAR)
    }


def test_tiers_carry_the_policy_checks_and_thresholds(
    replay_models: dict[str, ReplayChatModel],
) -> None:
    route = routes_from_policy(three_tier_policy(), replay_models)["triage"]
    assert [tier.primary.model_id for tier in route.tiers] == [CHEAP, MIDDLE, DEAR]
    first, second, last = route.tiers
    assert isinstance(first.check, LearnedScorerCheck)
    assert first.check.scorer == SCORER
    assert first.threshold == 0.7
    assert isinstance(second.check, TierAgreementCheck)
    assert second.threshold == 1.0
    assert last.check is None
    assert route.version == policy_digest(three_tier_policy())


def test_the_route_version_follows_the_policy(replay_models: dict[str, ReplayChatModel]) -> None:
    """Cached answers of an old policy must not be served under a recalibrated one."""
    assert policy_digest(three_tier_policy(0.7)) == policy_digest(three_tier_policy(0.7))
    assert policy_digest(three_tier_policy(0.7)) != policy_digest(three_tier_policy(0.8))


def test_a_model_the_policy_names_must_be_provided(
    replay_models: dict[str, ReplayChatModel],
) -> None:
    del replay_models[MIDDLE]
    with pytest.raises(ConfigError, match=MIDDLE):
        routes_from_policy(three_tier_policy(), replay_models)


def test_deployments_pass_through_and_models_are_named_by_the_policy() -> None:
    cheap = Deployment(model=ScriptedChatModel(), model_id=CHEAP, provider="vendor")
    dear = ScriptedChatModel(model="provider-side-id")
    policy = Policy(tasks={"t": TaskPolicy(tiers=(CHEAP, DEAR), rules=(SCORER_RULE,))})
    first, last = routes_from_policy(policy, {CHEAP: cheap, DEAR: dear})["t"].tiers
    assert first.primary is cheap
    assert last.primary.model_id == DEAR
    assert last.primary.priced_as == "provider-side-id"
