"""``[router.shadow]``: shadow evaluation from the config file, as strict as the rest of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.calibration import Policy, TaskPolicy, save_policy
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.shadow.config import ShadowTask

FILE = """
[router]
ledger = "memory://"
{policy}

[router.shadow]
tasks = {{ chat = 0.1, math = {{ rate = 1.0, store_prompts = true }} }}
score = "judge:small"
{shadow}

[providers.local]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[models.small]
provider = "local"
price = {{ input_per_mtok = 1, output_per_mtok = 1 }}

[models.large]
provider = "local"
price = {{ input_per_mtok = 10, output_per_mtok = 10 }}

[routes]
chat = ["small", "large"]
math = ["small", "large"]
"""


def router(tmp_path: Path, *, policy: str = "", shadow: str = "") -> RoutedChatModel:
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE.format(policy=policy, shadow=shadow), encoding="utf-8")
    return RoutedChatModel.from_config(path)


def test_the_shadow_table_builds_the_evaluator(tmp_path: Path) -> None:
    shadow = router(tmp_path, shadow="queue_size = 8").shadow_evaluator
    config = shadow.config
    assert config.task("chat") == ShadowTask(0.1)
    assert config.task("math") == ShadowTask(1.0, store_prompts=True)
    assert (config.queue_size, shadow.reference.model_id, shadow.judge.model_id) == (
        8,
        "large",
        "small",
    )
    assert shadow.store.url == "sqlite://"  # the memory ledger's database: this process


def test_the_policy_of_the_file_is_the_promise_drift_holds(tmp_path: Path) -> None:
    policy = Policy(tasks={"math": TaskPolicy(("large",), (), {"quality": 0.9})})
    save_policy(policy, tmp_path / "policy.json")
    shadow = router(tmp_path, policy='policy = "policy.json"').shadow_evaluator
    ((key, promise),) = shadow.store.read_promises().items()
    assert (key[1], promise.quality, promise.source) == ("math", 0.9, "train")


@pytest.mark.parametrize(
    ("shadow", "message"),
    [
        ("queue_sise = 3", "router.shadow.queue_sise': unknown key; did you mean `queue_size`"),
        ("workers = 0", "router.shadow.workers"),
        ('score = "bleu"', "router.shadow.score"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, shadow: str, message: str) -> None:
    text = FILE.replace('score = "judge:small"\n', "") if "score" in shadow else FILE
    path = tmp_path / "costrouter.toml"
    path.write_text(text.format(policy="", shadow=shadow), encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        RoutedChatModel.from_config(path)


def test_a_shadowed_task_must_be_routed(tmp_path: Path) -> None:
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE.format(policy="", shadow="").replace("math = [", "maths = ["))
    with pytest.raises(ConfigError, match=r"\['math'\] have no route"):
        RoutedChatModel.from_config(path)
