"""LangChain's standard chat model suites for plain ``ChatOpenAI`` over the test server.

The router is tested with the same suites over ``ChatOpenAI`` children, so the server must
let plain ``ChatOpenAI`` pass them first. Only input types the server does not model
(image, audio, PDF, video) and the VCR benchmark are skipped, through the suite's own flags.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from tests.server_fixtures import get_test_server

MODEL = "gpt-4o-mini"


class TestChatOpenAIOnTestServer(ChatModelIntegrationTests):
    """The integration suite: every call goes over HTTP to the local server's brain."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "base_url": get_test_server().base_url,
            "api_key": "test",
            "max_retries": 0,
            "stream_usage": True,
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


class TestChatOpenAIUnitOnTestServer(ChatModelUnitTests):
    """The unit suite (no calls are made), with the same parameters as above.

    The base URL is a fixed loopback address rather than the live server's port, so the
    serialisation snapshot stays stable between runs.
    """

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "base_url": "http://127.0.0.1:9/v1",
            "api_key": "test",
            "stream_usage": True,
        }

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OPENAI_API_KEY": "env-key", "OPENAI_API_BASE": "http://127.0.0.1:9/v1"},
            {"model": MODEL},
            {"openai_api_key": "env-key", "openai_api_base": "http://127.0.0.1:9/v1"},
        )
