"""A child's stream read through the router as its caller sees it (real ChatOpenAI and stores)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_costrouter import Deployment, RetryPolicy, Route, RoutedChatModel, Tier
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat


def _router(server: LocalOpenAIServer, tmp_path: Path) -> RoutedChatModel:
    """One unchecked (live) tier: gpt-4o-mini on provider a, failing over to provider b."""
    tier = Tier.of(
        [
            Deployment(openai_chat(server, "gpt-4o-mini"), "gpt-4o-mini", "provider-a"),
            Deployment(openai_chat(server, "gpt-4o"), "gpt-4o", "provider-b"),
        ]
    )
    return RoutedChatModel(
        routes={"chat": Route(tiers=(tier,))},
        default_task="chat",
        retry=RetryPolicy(max_retries=0),
        cache=f"diskcache://{tmp_path / 'cache'}",
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    )


async def _chunks(router: RoutedChatModel, prompt: str, method: str) -> list[AIMessageChunk]:
    if method == "stream":
        return list(router.stream(prompt))
    return [chunk async for chunk in router.astream(prompt)]


def _joined(chunks: Iterable[AIMessageChunk]) -> AIMessageChunk:
    first, *rest = chunks
    for chunk in rest:
        first = first + chunk
    return first


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_stream_dropped_before_any_text_fails_over(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    """OpenAI opens a stream with a chunk carrying only the role: no text has reached the
    caller when a provider drops the stream (or stalls) right after it. The router took
    that chunk for the answer's start and raised a stream-cut ProviderError instead of
    failing over, as README's Streaming paragraph promises before the first text."""
    openai_server.script([Fault("drop", after_chunks=0)], model="gpt-4o-mini")
    openai_server.script([Reply("from provider b", prompt_tokens=9, completion_tokens=3)])
    router = _router(openai_server, tmp_path)
    whole = _joined(await _chunks(router, "Tell me something", method))
    assert whole.content == "from provider b"
    assert whole.response_metadata["finish_reason"] == "stop"
    record = whole.response_metadata["costrouter"]
    assert (record["status"], record["served_by"]) == ("ok", "gpt-4o")
    assert [a["reason"] for a in record["attempts"]] == ["error: connection", "accepted"]
    assert whole.usage_metadata is not None
    assert (whole.usage_metadata["input_tokens"], whole.usage_metadata["output_tokens"]) == (9, 3)
    ledger = router.ledger_store
    ledger.flush()
    assert [(row.model, row.reason) for row in ledger.rows()] == [
        ("gpt-4o-mini", "error: connection"),
        ("gpt-4o", "accepted"),
    ]


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_stream_dropped_after_text_still_raises_a_cut(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    openai_server.script([Fault("drop", after_chunks=1)], model="gpt-4o-mini")
    router = _router(openai_server, tmp_path)
    with pytest.raises(ProviderError) as raised:
        await _chunks(router, "Tell me something", method)
    assert raised.value.kind == "stream_cut"
    assert openai_server.request_count() == 1


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_an_empty_answer_streamed_live_keeps_its_chunks(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    """The chunks held back until text arrives still reach the caller when none does."""
    openai_server.script([Reply("", finish_reason="content_filter")], model="gpt-4o-mini")
    router = _router(openai_server, tmp_path)
    chunks = await _chunks(router, "Tell me something", method)
    whole = _joined(chunks)
    assert whole.content == ""
    assert whole.response_metadata["finish_reason"] == "content_filter"
    assert whole.response_metadata["costrouter"]["status"] == "ok"
    assert sum("finish_reason" in chunk.response_metadata for chunk in chunks) == 1
