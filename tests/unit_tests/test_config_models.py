"""A config file's ``params`` cannot carry an API key: keys come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter.config import load_router_kwargs
from langchain_costrouter.errors import ConfigError

KEY = "sk-proj-Zq3XbT9mW2vK8nR4pL6s"
FILE = """
[providers.local]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[providers.chat_class]
kind = "langchain"
class = "langchain_openai:ChatOpenAI"
api_key_env = "COSTROUTER_TEST_KEY"
params = { base_url = "http://127.0.0.1:9/v1" }

[models.small]
provider = "local"
model = "gpt-4o-mini"

[models.other]
provider = "chat_class"
model = "gpt-4o"

[routes]
chat = ["small", "other"]
"""


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [  # ignored for the env's key (OpenAI-compatible), or used over it (a LangChain class)
        (
            'model = "gpt-4o-mini"',
            f'model = "gpt-4o-mini"\nparams = {{ openai_api_key = "{KEY}" }}',
            "models.small.params.openai_api_key",
        ),
        (
            'model = "gpt-4o"',
            f'model = "gpt-4o"\nparams = {{ api_key = "{KEY}" }}',
            "models.other.params.api_key",
        ),
        (
            'params = { base_url = "http://127.0.0.1:9/v1" }',
            f'params = {{ base_url = "http://127.0.0.1:9/v1", api_key = "{KEY}" }}',
            "providers.chat_class.params.api_key",
        ),
    ],
)
def test_a_key_in_params_is_refused_naming_api_key_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, key: str
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-from-the-environment")
    assert old in FILE
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE.replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    assert raised.value.key == key
    assert "api_key_env" in raised.value.reason and KEY not in str(raised.value)


def test_the_environment_s_key_is_the_one_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-from-the-environment")
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE)
    tiers = load_router_kwargs(path)["routes"]["chat"].tiers
    assert tiers[1].primary.model.openai_api_key.get_secret_value() == "k-from-the-environment"
