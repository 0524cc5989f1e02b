"""The child's streamed chunks as the caller gets them through the router (real ChatOpenAI)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from langchain_core.messages import BaseMessageChunk

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat


def _joined(chunks: Iterable[BaseMessageChunk]) -> BaseMessageChunk:
    chunks = list(chunks)
    assert sum("model_name" in chunk.response_metadata for chunk in chunks) == 1
    assert sum("costrouter" in chunk.response_metadata for chunk in chunks) == 1
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    return whole


@pytest.mark.parametrize("finish_reason", ["stop", "length"])
async def test_a_live_stream_keeps_the_childs_finish_reason_and_logprobs(
    openai_server: LocalOpenAIServer, finish_reason: str
) -> None:
    child = openai_chat(openai_server, "gpt-4o-mini", logprobs=True)
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat", cache="memory://")
    reply = Reply("one two three", finish_reason=finish_reason)
    openai_server.script([reply, reply])
    streamed = _joined(router.stream("three words please"))
    astreamed = _joined([chunk async for chunk in router.astream("three words, async")])
    for whole in (streamed, astreamed):
        metadata = whole.response_metadata
        assert metadata["finish_reason"] == finish_reason
        assert metadata["model_name"] == "gpt-4o-mini"
        tokens = [entry["token"] for entry in metadata["logprobs"]["content"]]
        assert "".join(tokens) == "one two three"
        assert metadata["costrouter"]["cache_hit"] is False
    replayed = _joined(router.stream("three words please"))  # the cache keeps them too
    assert replayed.response_metadata["costrouter"]["cache_hit"] is True
    assert replayed.response_metadata["finish_reason"] == finish_reason
    assert replayed.response_metadata["logprobs"] == streamed.response_metadata["logprobs"]
