"""PromptCompressor driving the real ChatOpenAI client against the local test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from langchain_costrouter.compression import PromptCompressor
from langchain_costrouter.compression.scripted import keep_leading_sentences
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.replies import Fault, Reply

PROMPT = (
    Path(__file__).parents[2] / "data" / "compression" / "bloated_system_prompt.md"
).read_text()
SCHEMA_LINE = next(line for line in PROMPT.splitlines() if line.startswith('{"$schema"'))


def _summarise(body: dict[str, Any]) -> Reply:
    return Reply(keep_leading_sentences(0.5)(body["messages"][-1]["content"]))


@pytest.fixture
def compressor_model(openai_server: LocalOpenAIServer) -> ChatOpenAI:
    openai_server.set_responder(_summarise)
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )


def test_compresses_once_with_provider_usage(
    compressor_model: ChatOpenAI, openai_server: LocalOpenAIServer
) -> None:
    compressor = PromptCompressor(compressor_model, cache={})
    first = compressor.compress_messages([SystemMessage(PROMPT), HumanMessage("Where is NW-1?")])
    second = compressor.compress_messages([SystemMessage(PROMPT), HumanMessage("Refund?")])

    (answer,) = first.compressor_messages
    assert openai_server.request_count() == 1
    assert second.messages[0].text == first.messages[0].text
    assert SCHEMA_LINE in first.messages[0].text
    assert first.tokens_after < first.tokens_before
    assert answer.response_metadata["model_name"].startswith("gpt-4o-mini")
    assert "usage_estimated" not in answer.response_metadata
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == openai_server.requests[0].prompt_tokens


async def test_a_provider_error_keeps_the_original(
    compressor_model: ChatOpenAI, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("500")])
    result = await PromptCompressor(compressor_model).acompress_messages([SystemMessage(PROMPT)])

    assert result.messages[0].text == PROMPT
    assert result.fallback_reason is not None
    assert "compressor failed" in result.fallback_reason
    assert result.compressor_messages == []
