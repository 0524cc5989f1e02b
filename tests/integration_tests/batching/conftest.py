"""A real ChatOpenAI pointed at the test server, with retries left to the batcher."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter.testing import LocalOpenAIServer


@pytest.fixture
def chat(openai_server: LocalOpenAIServer) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
