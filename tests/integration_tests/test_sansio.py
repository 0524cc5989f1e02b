"""The step drivers as a streaming caller meets them (real ChatOpenAI, diskcache, SQLite).

A streamed call's flow ends before the caller has read the closing chunk (usage,
``model_name``, the record); what the call held (its coalescing flight) must be let go
of then, not when the caller next asks for a chunk: identical calls wait for that flight.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat


def _router(server: LocalOpenAIServer, tmp_path: Path) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"chat": [openai_chat(server, "gpt-4o-mini")]},
        default_task="chat",
        cache=f"diskcache://{tmp_path / 'cache'}",
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    )


def _is_closing(chunk: AIMessageChunk) -> bool:
    return "costrouter" in chunk.response_metadata


async def test_an_async_stream_lets_go_of_its_flight_before_its_closing_chunk(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    """The leader's consumer holds the closing chunk and reads no further (it is busy,
    or keeps the stream open): an identical call waited for it, up to the flight's
    30 s lock timeout, although the answer was in the cache."""
    openai_server.script([Reply("alpha beta", prompt_tokens=10, completion_tokens=2)])
    router = _router(openai_server, tmp_path)
    leader = aiter(router.astream("Say two words"))
    while not (await anext(leader)).content:  # the leader's flow is under way
        pass
    waiting = asyncio.create_task(router.ainvoke("Say two words"))
    await asyncio.sleep(0.1)  # the follower missed the cache and waits for the flight
    while not _is_closing(await anext(leader)):
        pass
    follower = await asyncio.wait_for(waiting, timeout=5)
    assert follower.content == "alpha beta"
    assert follower.response_metadata["costrouter"]["cache_hit"] is True
    assert [chunk async for chunk in leader] == []
    assert openai_server.request_count() == 1
    ledger = router.ledger_store
    ledger.flush()
    assert sorted(row.cache_hit for row in ledger.rows()) == [False, True]


def test_a_stream_lets_go_of_its_flight_before_its_closing_chunk(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    openai_server.script([Reply("alpha beta", prompt_tokens=10, completion_tokens=2)])
    router = _router(openai_server, tmp_path)
    leader = iter(router.stream("Say two words"))
    while not next(leader).content:  # the leader's flow is under way
        pass
    answers: list[AIMessage] = []
    follower = threading.Thread(target=lambda: answers.append(router.invoke("Say two words")))
    follower.start()
    follower.join(timeout=0.1)  # the follower missed the cache and waits for the flight
    while not _is_closing(next(leader)):
        pass
    follower.join(timeout=5)
    assert [answer.content for answer in answers] == ["alpha beta"]
    assert list(leader) == []
    assert openai_server.request_count() == 1
