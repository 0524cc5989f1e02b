"""LangChain's standard suites for RoutedChatModel over ChatOpenAI children on the test server.

Subclassed, never copied: the router must behave like any LangChain chat model in
invoke, stream, batch, tools, structured output and usage reporting. Skips come only
from the suite's own flags, for input types the test server does not model.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_costrouter import RoutedChatModel
from tests.server_fixtures import get_test_server


def openai_child(model: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=get_test_server().base_url,
        api_key="test",
        max_retries=0,
        stream_usage=True,
        cache=False,
    )


class TestRoutedChatModelIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return RoutedChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "routes": {
                "chat": [openai_child("gpt-4o-mini")],
                "classification": [openai_child("gpt-4.1-nano"), openai_child("gpt-4o")],
            },
            "default_task": "chat",
        }

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-4.1-nano"
