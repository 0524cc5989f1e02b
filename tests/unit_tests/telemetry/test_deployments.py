"""The attempt span's opening attributes, read from the chat model a deployment calls."""

from __future__ import annotations

import pytest
from langchain_core.language_models import BaseChatModel, FakeListChatModel
from langchain_openai import AzureChatOpenAI, ChatOpenAI

from langchain_costrouter.routes import Deployment
from langchain_costrouter.telemetry.deployments import deployment_attributes
from langchain_costrouter.testing import ScriptedChatModel


def _named(
    child: BaseChatModel, name: str = "entry", provider: str = "my_table"
) -> dict[str, object]:
    """The attributes of ``child`` deployed as a config file deploys it: under its entry's
    name and its provider table's name."""
    return deployment_attributes(Deployment(model=child, model_id=name, provider=provider))


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.siliconflow.cn/v1", "openai"),  # OpenAI's API, no well-known host
        ("http://127.0.0.1:8000/v1", "openai"),
        ("https://api.deepseek.com/v1", "deepseek"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.x.ai/v1", "x_ai"),
        ("https://api.mistral.ai/v1", "mistral_ai"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini"),
        ("https://team.openai.azure.com/openai/v1", "azure.ai.openai"),
    ],
)
def test_an_openai_compatible_endpoint_is_named_by_its_host(base_url: str, provider: str) -> None:
    child = ChatOpenAI(model="some/model-1", base_url=base_url, api_key="k")
    attributes = _named(child, provider="openai_compatible")
    assert attributes["gen_ai.provider.name"] == provider
    assert attributes["gen_ai.request.model"] == "some/model-1"
    assert attributes["costrouter.model"] == "entry"


def test_a_langchain_class_is_named_by_its_own_provider() -> None:
    azure = AzureChatOpenAI(
        azure_deployment="gpt-4o",
        azure_endpoint="https://team.openai.azure.com",
        api_version="2024-10-21",
        api_key="k",
    )
    assert _named(azure)["gen_ai.provider.name"] == "azure.ai.openai"
    scripted = ScriptedChatModel(model="fake-1", answers=["x"])
    attributes = _named(scripted, provider="openai")
    assert attributes["gen_ai.provider.name"] == "openai"  # the table's well-known name
    assert attributes["gen_ai.request.model"] == "fake-1"


def test_a_custom_provider_keeps_its_configured_name() -> None:
    """No well-known value applies: the conventions allow a custom one, the table's name."""
    scripted = ScriptedChatModel(model="fake-1", answers=["x"])
    assert _named(scripted, provider="local_llama")["gen_ai.provider.name"] == "local_llama"


def test_a_model_without_a_model_field_is_requested_under_the_deployment_s_name() -> None:
    """Its class name (``fake-list-chat-model``) names no model: the deployment's does."""
    attributes = _named(FakeListChatModel(responses=["x"]), name="cheap", provider="fake")
    assert attributes["gen_ai.request.model"] == "cheap"
    assert attributes["costrouter.model"] == "cheap"
