"""``[router] policy = "policy.json"``: a calibrated policy routes real HTTP calls.

The policy's tiers name the config file's models; its learned scorer runs on the
answer the local OpenAI-compatible server gave, and the cascade accepts or
escalates on the policy's threshold.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter import ConfigError, RoutedChatModel
from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy, save_policy
from langchain_costrouter.calibration.policy_routes import routes_from_policy_file
from langchain_costrouter.calibration.runtime import LearnedScorerCheck
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.testing import LocalOpenAIServer, Reply

SCORER = LinearScorer(weights={}, bias=1.0)  # scores every answer sigmoid(1) = 0.731

CONFIG = """
[providers.local]
base_url = "{base_url}"
api_key_env = "COSTROUTER_TEST_KEY"
timeout = 5

[models.small]
provider = "local"
model = "gpt-4o-mini"

[models.big]
provider = "local"
model = "gpt-4o"

[routes]
chat = ["big"]

[router]
default_task = "chat"
policy = "policy.json"
"""


def write_config(folder: Path, base_url: str, tiers: tuple[str, ...], threshold: float) -> Path:
    rules = (StageRule("scorer", threshold, SCORER),)
    save_policy(
        Policy(tasks={"triage": TaskPolicy(tiers=tiers, rules=rules)}), folder / "policy.json"
    )
    config = folder / "costrouter.toml"
    config.write_text(CONFIG.format(base_url=base_url))
    return config


@pytest.mark.parametrize(("threshold", "served"), [(0.5, "small"), (0.9, "big")])
def test_the_policy_from_the_config_decides_the_cascade(
    tmp_path: Path,
    openai_server: LocalOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    threshold: float,
    served: str,
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    config = write_config(tmp_path, openai_server.base_url, ("small", "big"), threshold)
    router = RoutedChatModel.from_config(config)
    openai_server.script([Reply("Yes")], model="gpt-4o-mini")
    openai_server.script([Reply("No")], model="gpt-4o")
    message = router.invoke("Is this ticket urgent?", task="triage")
    record = message.response_metadata["costrouter"]
    first = record["attempts"][0]
    expected = (
        LearnedScorerCheck(SCORER)
        .evaluate([HumanMessage("Is this ticket urgent?")], AIMessage("Yes"))
        .score
    )
    assert first["model"] == "small"
    assert first["score"] == pytest.approx(expected)
    assert record["served_by"] == served
    assert message.content == ("Yes" if served == "small" else "No")
    assert isinstance(router.route_table["triage"].tiers[0].check, LearnedScorerCheck)
    assert router.route_table["chat"].tiers[0].primary.model_id == "big"


def test_a_policy_naming_unknown_models_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/v1", ("small", "huge"), 0.5)
    with pytest.raises(ConfigError, match=r"policy\.json.*'huge'"):
        RoutedChatModel.from_config(config)
    with pytest.raises(ConfigError, match="huge"):
        routes_from_policy_file(tmp_path / "policy.json", {})


LOGPROB_SCORER = LinearScorer(
    weights={},
    bias=0.0,
    stack={"text": 1.0, "bias": 0.0},  # 0.5 for an answer without log-probabilities
    logprob_stack={"bias": 3.0, "logprob_min": 2.0},  # sure tokens -> accept, doubtful -> not
)


@pytest.mark.parametrize(
    ("params", "logprob", "served"),
    [
        ("params = { logprobs = true }", -0.01, "small"),
        ("params = { logprobs = true }", -3.0, "big"),
        ("", -0.01, "big"),  # the deployment asks for none: missing, not zero
    ],
    ids=["sure", "doubtful", "not-asked"],
)
def test_the_routed_answers_logprobs_reach_the_policys_scorer(
    tmp_path: Path,
    openai_server: LocalOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    params: str,
    logprob: float,
    served: str,
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    rules = (StageRule("scorer", 0.8, LOGPROB_SCORER),)
    policy = Policy(tasks={"triage": TaskPolicy(tiers=("small", "big"), rules=rules)})
    save_policy(policy, tmp_path / "policy.json")
    config = CONFIG.format(base_url=openai_server.base_url).replace(
        'model = "gpt-4o-mini"\n', f'model = "gpt-4o-mini"\n{params}\n'
    )
    (tmp_path / "costrouter.toml").write_text(config)
    router = RoutedChatModel.from_config(tmp_path / "costrouter.toml")
    openai_server.script([Reply("Yes", logprobs=[logprob])], model="gpt-4o-mini")
    openai_server.script([Reply("No")], model="gpt-4o")
    record = router.invoke("Is this ticket urgent?", task="triage").response_metadata["costrouter"]
    sent = [entry.body.get("logprobs") for entry in openai_server.requests]
    assert sent[0] is (True if params else None)
    first = record["attempts"][0]
    expected = 1 / (1 + math.exp(-(3.0 + 2.0 * logprob))) if params else 0.5
    assert first["score"] == pytest.approx(expected)
    assert record["served_by"] == served
