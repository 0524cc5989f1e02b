"""Credentials are recognised by name and masked in every store URL the package shows."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from pydantic import BaseModel, SecretStr

from langchain_costrouter._secrets import (
    error_text,
    is_secret_name,
    public_options,
    redacted,
    secret_values,
    shown_breaker_key,
    shown_url,
    url_passwords_masked,
)
from langchain_costrouter.budgets import open_store
from langchain_costrouter.cache import open_cache
from langchain_costrouter.errors import ConfigError


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "x-api-key",
        "api-key",
        "X-Goog-Api-Key",
        "Authorization",
        "password",
        "client.secret",
        "sslpassword",
        "dbPassword",
        "session_token",
        "private-key",
        "Cookie",
    ],
)
def test_credential_names_in_every_spelling(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["max_tokens", "token_budget", "keywords", "secretary", "stop"])
def test_names_that_only_look_like_credentials(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        (
            "postgresql://app:hunter2@db/x?sslmode=require",
            "postgresql://app:***@db/x?sslmode=require",
        ),
        (
            "redis://127.0.0.1:6379/0?password=hunter2&db=1",
            "redis://127.0.0.1:6379/0?password=***&db=1",
        ),
        (
            "postgresql+psycopg://u@h/test?password=hunter2",
            "postgresql+psycopg://u@h/test?password=***",
        ),
        (
            "postgresql://u@h/db?sslpassword=hunter2&sslmode=verify-full",
            "postgresql://u@h/db?sslpassword=***&sslmode=verify-full",
        ),
        ("sqlite:///relative.sqlite3", "sqlite:///relative.sqlite3"),
        ("memory://", "memory://"),
    ],
)
def test_store_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_a_url_that_does_not_parse_shows_only_its_scheme() -> None:
    assert shown_url("redis://:hunter2@[::1") == "redis://..."


@pytest.mark.parametrize(
    ("opener", "url"),
    [
        (open_cache, "reddis://:hunter2@127.0.0.1:6379/0"),
        (open_cache, "redis://:hunter2@127.0.0.1:6379/0?ttl=abc"),
        (open_cache, "diskcache:///tmp/x?nonsense=1&password=hunter2"),
        (open_store, "rediss+x://:hunter2@h/0"),
        (open_store, "postgresql+psycopg://postgres:hunter2@127.0.0.1/test?durable=maybe"),
        (open_store, "memory://?password=hunter2"),
    ],
)
def test_store_url_errors_never_show_a_password(opener: Callable[[str], object], url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        opener(url)
    assert "hunter2" not in str(raised.value) and "***" in str(raised.value)


class _ChildFields(BaseModel):
    """A chat model's credential-bearing fields, as ChatOpenAI declares them (a real
    ChatOpenAI is checked end to end in tests/integration_tests/telemetry)."""

    openai_api_key: SecretStr | None = None
    default_headers: dict[str, str] | None = None


def test_a_chat_models_credentials_are_found_and_masked() -> None:
    model = _ChildFields(
        openai_api_key=SecretStr("own-key-0123456789"),
        default_headers={"api-key": "azure-key-0123456789", "x-request-source": "batch-jobs"},
    )
    assert set(secret_values(model)) == {"own-key-0123456789", "azure-key-0123456789"}
    error = ValueError("rejected own-key-0123456789 and azure-key-0123456789 from batch-jobs")
    assert error_text(error, model) == "rejected *** and *** from batch-jobs"


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-AbCdEf0123456789.",
        "key sk-ant-api03-AbCdEf0123456789 revoked",
        "Authorization: Bearer abcdefgh12345678",
        "API key AIzaSyA-0123456789abcdefghijkl not valid",
    ],
)
def test_anything_shaped_like_a_key_is_masked_whoever_holds_it(text: str) -> None:
    assert "***" in redacted(text) and not any(c.isdigit() for c in redacted(text))


def test_short_placeholder_keys_are_not_masked_in_ordinary_words() -> None:
    model = _ChildFields(openai_api_key=SecretStr("test"))
    assert secret_values(model) == []
    assert error_text(ValueError("the latest test failed"), model) == "the latest test failed"


def test_error_text_masks_before_it_cuts() -> None:
    model = SimpleNamespace(api_key=SecretStr("secret-value-0123456789"))
    text = error_text(ValueError("x" * 290 + "secret-value-0123456789"), model, limit=300)
    assert text == "x" * 290 + "***"


def test_a_driver_message_quoting_a_url_has_its_password_masked() -> None:
    text = "Could not parse URL from string 'postgresql://app:hunter2@db:5432/x' or redis://:pw@h"
    masked = url_passwords_masked(text)
    assert "hunter2" not in masked and ":pw@" not in masked
    assert "postgresql://app:***@db:5432/x" in masked and "redis://:***@h" in masked


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("openai|https://u:pw-0123@proxy/v1|gpt-4o", "openai|https://u:***@proxy/v1|gpt-4o"),
        ("azure|https://h/v1?api-key=k-0123|gpt-4o", "azure|https://h/v1?api-key=***|gpt-4o"),
        ("gemini|https://h/v1?key=AIza" + "x" * 24 + "|g", "gemini|https://h/v1?key=***|g"),
        ("anthropic||claude-3-5-haiku", "anthropic||claude-3-5-haiku"),  # no base URL
    ],
)
def test_a_breaker_key_is_shown_without_its_endpoint_s_credentials(key: str, shown: str) -> None:
    assert shown_breaker_key(key) == shown


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Authorization", "Bearer abc"),
        ("api-key", "x"),
        ("Ocp-Apim-Subscription-Key", "0123"),  # Azure API Management
        ("Helicone-Auth", "Bearer abc"),
        ("sig", "sv=2024"),  # an Azure SAS signature
        ("code", "abc"),  # an Azure Functions key
        ("X-Gateway", "sk-proj-" + "a1" * 10),  # a key's shape under any name
        ("X-Tenant", "Bearer abcdefgh123"),
        ("X-Tenant", "a8F3kQ9zL2mX7pR4tV6wY1bN"),  # opaque: letters and digits, 24 long
        ("X-Tenant", SecretStr("plain")),
    ],
)
def test_header_and_query_credentials_are_left_out_of_public_options(
    name: str, value: object
) -> None:
    assert public_options({name: value, "X-Model-Version": "2024-08-06"}) == {
        "X-Model-Version": "2024-08-06"
    }


@pytest.mark.parametrize(
    "value",
    ["2024-08-06", "gpt-4o-prod-eastus2", "123e4567-e89b-12d3-a456-426614174000", "blue"],
)
def test_settings_that_select_a_model_stay_in_public_options(value: str) -> None:
    assert public_options({"X-Deployment": value}) == {"X-Deployment": value}


def test_error_text_masks_the_password_of_the_model_s_proxy_url() -> None:
    # A gateway that echoes the URL it was called at ("... at http://user:pw@proxy/v1")
    # or the password alone: the password in the child's base_url is a credential too.
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="m", api_key="k", base_url="http://team:proxyPW-7731@proxy.local:8080/v1"
    )
    error = ValueError(
        "denied at http://team:proxyPW-7731@proxy.local:8080/v1 (password proxyPW-7731)"
    )
    assert "proxyPW-7731" in secret_values(model)
    assert error_text(error, model) == (
        "denied at http://team:***@proxy.local:8080/v1 (password ***)"
    )
    other = ValueError("retry via https://ops:hunter2hunter2@other.example/v1")
    assert error_text(other, model) == "retry via https://ops:***@other.example/v1"
