"""``[router] policy = "policy.json"``: a calibrated policy routes real HTTP calls.

The policy's tiers name the config file's models; its learned scorer runs on the
answer the local OpenAI-compatible server gave, and the cascade accepts or
escalates on the policy's threshold.
"""

from __future__ import annotations

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
