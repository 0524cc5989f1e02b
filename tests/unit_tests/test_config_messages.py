"""A config file's errors never repeat a credential the file holds by mistake."""

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

[models.small]
provider = "local"
model = "gpt-4o-mini"

[routes]
chat = ["small"]
"""


def _message(tmp_path: Path, old: str, new: str) -> ConfigError:
    assert old in FILE
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE.replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    return raised.value


@pytest.mark.parametrize(
    ("old", "new", "key", "secret"),
    [  # the key pasted where the variable's name goes: the likeliest way a key gets in
        ('"COSTROUTER_TEST_KEY"', f'"{KEY}"', "providers.local.api_key_env", KEY),
        ('"COSTROUTER_TEST_KEY"', '"hunter2-hunter2"', "providers.local.api_key_env", "hunter2"),
        (
            'api_key_env = "COSTROUTER_TEST_KEY"',
            'api_key_env = "K"\nheaders = { Authorization = ["Bearer abc123def456"] }',
            "providers.local.headers.Authorization",
            "abc123def456",
        ),
        (
            'api_key_env = "COSTROUTER_TEST_KEY"',
            'api_key_env = "K"\nheaders = "X-Team-Token: t0ps3cr3tvalue"',
            "providers.local.headers",
            "t0ps3cr3tvalue",
        ),
        (
            '"http://127.0.0.1:9/v1"',
            '"https://me:pa55word@example.com /v1"',
            "providers.local.base_url",
            "pa55word",
        ),
    ],
)
def test_a_wrong_value_that_may_be_a_credential_is_not_repeated(
    tmp_path: Path, old: str, new: str, key: str, secret: str
) -> None:
    error = _message(tmp_path, old, new)
    assert error.key == key
    assert secret not in str(error) and secret not in repr(error.args)


def test_a_key_in_place_of_the_variable_name_says_what_to_do(tmp_path: Path) -> None:
    error = _message(tmp_path, '"COSTROUTER_TEST_KEY"', f'"{KEY}"')
    assert "not shown" in error.reason and "the NAME of the environment variable" in error.reason


def test_other_wrong_values_are_still_shown(tmp_path: Path) -> None:
    """Hiding every value would make ordinary typos harder to find."""
    error = _message(tmp_path, 'provider = "local"', 'provider = "local"\ncontext_window = -5')
    assert error.key == "models.small.context_window" and "got -5" in error.reason
