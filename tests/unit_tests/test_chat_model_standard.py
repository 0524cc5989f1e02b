"""LangChain's standard unit suite for RoutedChatModel (no network: sockets are disabled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_costrouter import RoutedChatModel

EXAMPLE_CONFIG = Path(__file__).parents[2] / "examples" / "costrouter.toml"


def _child(model: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url="http://127.0.0.1:9/v1",
        api_key="test",
        max_retries=0,
        stream_usage=True,
    )


class TestRoutedChatModelUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return RoutedChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"routes": {"chat": [_child("gpt-4o-mini")]}, "default_task": "chat"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        """The router's one environment setting: the config file to build routes from."""
        return (
            {"COSTROUTER_CONFIG": str(EXAMPLE_CONFIG)},
            {"namespace": "from-env"},
            {"default_task": "chat", "namespace": "from-env"},
        )
