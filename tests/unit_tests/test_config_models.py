"""A config file's ``params`` cannot carry an API key: keys come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import field_validator

from langchain_costrouter.config import load_router_kwargs
from langchain_costrouter.errors import ConfigError, MissingAPIKeyError
from langchain_costrouter.testing import ScriptedChatModel

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


AZURE = """
[providers.azure]
kind = "langchain"
class = "langchain_openai:AzureChatOpenAI"
api_key_env = "COSTROUTER_TEST_KEY"

[models.big]
provider = "azure"
model = "gpt-4o"
params = { temperature = 0.5 }

[routes]
chat = ["big"]
"""


def test_a_class_that_rejects_its_params_quotes_no_input_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic's message quotes a shortened copy of the class's keywords, ending with the
    last ones: the key read from the environment (its last characters, ``...Qz'``)."""
    key = "azkey-0123456789abcdefQz"
    monkeypatch.setenv("COSTROUTER_TEST_KEY", key)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://team.openai.azure.com")
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    path = tmp_path / "costrouter.toml"
    path.write_text(AZURE.replace("params = { temperature = 0.5 }\n", ""))
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    shown = str(raised.value)
    assert raised.value.key == "models.big.params"
    assert "api_version" in shown and "OPENAI_API_VERSION" in shown  # pydantic's message
    assert "input_value" not in shown and key[-2:] not in shown, shown


@pytest.mark.parametrize("provider", ["local", "chat_class"])
def test_a_rejected_param_is_named_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-from-the-environment")
    path = tmp_path / "costrouter.toml"
    model = "small" if provider == "local" else "other"
    old = 'model = "gpt-4o-mini"' if provider == "local" else 'model = "gpt-4o"'
    path.write_text(FILE.replace(old, f'{old}\nparams = {{ temperature = "tepid-9f3" }}', 1))
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    assert raised.value.key == f"models.{model}.params"
    assert "temperature: Input should be a valid number" in raised.value.reason
    assert "tepid-9f3" not in str(raised.value)


class KeyQuotingChatModel(ScriptedChatModel):
    """A class whose own check quotes the key it was given, as some SDKs' do."""

    api_key: str = ""

    @field_validator("api_key")
    @classmethod
    def _known(cls, value: str) -> str:
        raise ValueError(f"unknown key {value}")


def test_a_class_s_message_quoting_the_environment_s_key_has_it_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "quoted-key-0123456789"
    monkeypatch.setenv("COSTROUTER_TEST_KEY", key)
    path = tmp_path / "costrouter.toml"
    text = AZURE.replace("langchain_openai:AzureChatOpenAI", f"{__name__}:KeyQuotingChatModel")
    path.write_text(text.replace("params = { temperature = 0.5 }\n", ""))
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    assert raised.value.reason.endswith("api_key: Value error, unknown key ***")
    assert key not in str(raised.value)


@pytest.mark.parametrize(
    ("old", "params", "key"),
    [  # each passed the check, which read only the top level of params
        (
            'model = "gpt-4o-mini"',
            f'params = {{ model_kwargs = {{ api_key = "{KEY}" }} }}',
            "models.small.params.model_kwargs.api_key",
        ),
        (
            'model = "gpt-4o-mini"',
            f'params = {{ default_query = {{ "api-key" = "{KEY}" }} }}',
            "models.small.params.default_query.api-key",
        ),
        (
            'model = "gpt-4o-mini"',
            f'params = {{ extra_body = {{ auth = [{{ access_token = "{KEY}" }}] }} }}',
            "models.small.params.extra_body.auth[0].access_token",
        ),
        (
            'model = "gpt-4o"',
            f'params = {{ default_headers = {{ Authorization = "Bearer {KEY}" }} }}',
            "models.other.params.default_headers.Authorization",
        ),
        (
            'params = { base_url = "http://127.0.0.1:9/v1" }',
            f'params = {{ default_headers = {{ "X-Api-Key" = "{KEY}" }} }}',
            "providers.chat_class.params.default_headers.X-Api-Key",
        ),
    ],
)
def test_a_key_nested_in_params_is_refused_naming_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, params: str, key: str
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-from-the-environment")
    assert old in FILE
    new = params if old.startswith("params") else f"{old}\n{params}"
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE.replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    assert raised.value.key == key
    reason = raised.value.reason
    assert "api_key_env" in reason and "headers" in reason and "Authorization" in reason
    assert KEY not in str(raised.value)


def test_the_provider_s_headers_table_may_carry_authorization(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The place the refusal points to: an OpenAI-compatible provider's headers."""
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-from-the-environment")
    path = tmp_path / "costrouter.toml"
    headers = 'api_key_env = "COSTROUTER_TEST_KEY"\nheaders = { Authorization = "Bearer t" }'
    path.write_text(FILE.replace('api_key_env = "COSTROUTER_TEST_KEY"', headers, 1))
    tiers = load_router_kwargs(path)["routes"]["chat"].tiers
    assert tiers[0].primary.model.default_headers == {"Authorization": "Bearer t"}


@pytest.mark.parametrize(
    ("provider_params", "model_params", "key"),
    [  # what the class refuses is in the provider's params, or in the model's
        ('base_url = "https://team.openai.azure.com/v1"', "", "providers.azure.params"),
        ('n = "two"', "temperature = 0.5", "providers.azure.params"),
        ("", 'temperature = "warm"', "models.big.params"),
    ],
)
def test_a_refused_param_is_named_where_the_file_sets_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    provider_params: str,
    model_params: str,
    key: str,
) -> None:
    """The class gets the provider's params and the model's in one call: its refusal
    names the table that holds what it refused, not always the model's."""
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-test")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    endpoint = 'azure_endpoint = "https://team.openai.azure.com"'
    text = AZURE.replace(
        'api_key_env = "COSTROUTER_TEST_KEY"\n',
        'api_key_env = "COSTROUTER_TEST_KEY"\n'
        f"params = {{ {', '.join(filter(None, [endpoint, provider_params]))} }}\n",
    ).replace("temperature = 0.5", model_params)
    path = tmp_path / "costrouter.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_router_kwargs(path)
    assert (raised.value.path, raised.value.key) == (str(path), key), str(raised.value)


def test_a_langchain_class_s_missing_key_names_the_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key of a LangChain-class provider is read while the file is loaded: the
    error says where the variable is named, as every other error of the file does."""
    monkeypatch.delenv("COSTROUTER_TEST_KEY", raising=False)
    path = tmp_path / "costrouter.toml"
    path.write_text(FILE)
    with pytest.raises(MissingAPIKeyError) as raised:
        load_router_kwargs(path)
    message = str(raised.value)
    assert f"file {path}" in message
    assert "key 'providers.chat_class.api_key_env'" in message
    assert "Export COSTROUTER_TEST_KEY=... before loading" in message
    assert raised.value.path == str(path) and raised.value.key == "providers.chat_class.api_key_env"
