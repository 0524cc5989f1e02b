"""The child's streamed chunks as the caller gets them through the router (real ChatOpenAI)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessageChunk
from langchain_core.runnables import Runnable

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.checks import FunctionCheck
from langchain_costrouter.routes import Tier
from langchain_costrouter.testing import LocalOpenAIServer, Reply, ToolCall
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


def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _cached_adder(openai_server: LocalOpenAIServer) -> Runnable[LanguageModelInput, AIMessage]:
    """A cached router on the server's gpt-4o-mini, with `_add` bound as its tool."""
    router = RoutedChatModel(
        routes={"chat": [openai_chat(openai_server, "gpt-4o-mini")]},
        default_task="chat",
        cache="memory://",
    )
    return router.bind_tools([_add])


def test_a_stream_cut_inside_tool_arguments_is_not_cached_as_a_whole_call(
    openai_server: LocalOpenAIServer,
) -> None:
    tools = _cached_adder(openai_server)
    cut = ToolCall("_add", '{"a": 1, "b": ', id="call_cut")
    openai_server.script([Reply(tool_calls=[cut], finish_reason="length")])
    _joined(tools.stream("add 1 and 2"))
    again = tools.invoke("add 1 and 2")
    assert again.response_metadata["costrouter"]["cache_hit"] is False
    assert openai_server.request_count() == 2


def test_a_streamed_tool_call_is_replayed_from_the_cache_with_its_ids_and_args(
    openai_server: LocalOpenAIServer,
) -> None:
    tools = _cached_adder(openai_server)
    calls = [ToolCall("_add", {"a": 1, "b": 2}, id="call_1"), ToolCall("_add", {"a": 3, "b": 4})]
    openai_server.script([Reply(tool_calls=calls, prompt_tokens=50, completion_tokens=20)])
    live = _joined(tools.stream("add 1 and 2, and 3 and 4"))
    replayed = _joined(tools.stream("add 1 and 2, and 3 and 4"))
    invoked = tools.invoke("add 1 and 2, and 3 and 4")
    assert openai_server.request_count() == 1
    assert live.tool_calls[0] == {
        "name": "_add",
        "args": {"a": 1, "b": 2},
        "id": "call_1",
        "type": "tool_call",
    }
    for answer in (replayed, invoked):
        assert answer.tool_calls == live.tool_calls
        assert answer.response_metadata["costrouter"]["cache_hit"] is True
        assert answer.usage_metadata is not None
        assert (answer.usage_metadata["input_tokens"], answer.usage_metadata["output_tokens"]) == (
            50,
            20,
        )
    assert [chunk["index"] for chunk in replayed.tool_call_chunks] == [0, 1]


def test_a_buffered_answer_streamed_keeps_its_invalid_tool_calls(
    openai_server: LocalOpenAIServer,
) -> None:
    child = openai_chat(openai_server, "gpt-4o-mini")
    accept_all = FunctionCheck(lambda messages, answer, previous: 1.0, name="accept_all")
    router = RoutedChatModel(routes={"chat": [Tier.of(child, check=accept_all)]})
    calls = [ToolCall("_add", "not json", id="call_bad"), ToolCall("_add", {"a": 1, "b": 2})]
    openai_server.script([Reply("adding", tool_calls=calls)])
    streamed = _joined(router.bind_tools([_add]).stream("add 1 and 2", task="chat"))
    assert streamed.content == "adding"
    assert streamed.tool_calls[0]["args"] == {"a": 1, "b": 2}
    assert [(call["id"], call["args"]) for call in streamed.invalid_tool_calls] == [
        ("call_bad", "not json")
    ]


@pytest.mark.parametrize("disable_streaming", [True, "tool_calling"])
async def test_a_child_that_disables_streaming_is_called_once_not_streamed(
    openai_server: LocalOpenAIServer, disable_streaming: bool | str
) -> None:
    child = openai_chat(openai_server, "gpt-4o-mini", disable_streaming=disable_streaming)
    tools = RoutedChatModel(routes={"chat": [child]}, default_task="chat").bind_tools([_add])
    call = ToolCall("_add", {"a": 1, "b": 2}, id="call_1")
    openai_server.script([Reply(tool_calls=[call], prompt_tokens=30, completion_tokens=9)] * 2)
    streamed = _joined(tools.stream("add 1 and 2"))
    astreamed = _joined([chunk async for chunk in tools.astream("add 1 and 2")])
    assert [request.stream for request in openai_server.requests] == [False, False]
    for whole in (streamed, astreamed):
        assert whole.tool_calls == [
            {"name": "_add", "args": {"a": 1, "b": 2}, "id": "call_1", "type": "tool_call"}
        ]
        assert whole.usage_metadata is not None
        assert (whole.usage_metadata["input_tokens"], whole.usage_metadata["output_tokens"]) == (
            30,
            9,
        )
        attempt = whole.response_metadata["costrouter"]["attempts"][0]
        assert not attempt.get("usage_estimated")


@pytest.mark.parametrize("child_setting", ["checked tier", "disable_streaming"])
async def test_a_stream_asking_for_its_usage_reaches_a_child_called_without_streaming(
    openai_server: LocalOpenAIServer, child_setting: str
) -> None:
    """``stream_usage`` (and ``stream_options``) ask a stream for its usage, the way a
    ChatOpenAI on a base_url gets it (docs/architecture.md, LangChain fact 6). The router
    answers a stream of a checked tier, or of a child that does not stream, with the
    child's ``_generate``, which sent them on to the OpenAI client: TypeError, before any
    request."""
    if child_setting == "checked tier":
        accept_all = FunctionCheck(lambda messages, answer, previous: 1.0, name="accept_all")
        tier = Tier.of(openai_chat(openai_server, "gpt-4o-mini"), check=accept_all)
    else:
        tier = Tier.of(openai_chat(openai_server, "gpt-4o-mini", disable_streaming=True))
    router = RoutedChatModel(routes={"chat": [tier]}, default_task="chat")
    openai_server.script([Reply("exact usage", prompt_tokens=11, completion_tokens=2)] * 3)
    streamed = _joined(router.stream("usage please", stream_usage=True))
    astreamed = _joined([c async for c in router.astream("usage please", stream_usage=True)])
    invoked = router.invoke("usage please", stream_options={"include_usage": True})
    for whole in (streamed, astreamed, invoked):
        assert isinstance(whole, AIMessage)
        assert whole.content == "exact usage"
        assert whole.usage_metadata is not None
        assert (whole.usage_metadata["input_tokens"], whole.usage_metadata["output_tokens"]) == (
            11,
            2,
        )
    bodies = [request.body or {} for request in openai_server.requests]
    assert [("stream_usage" in body, "stream_options" in body) for body in bodies] == [
        (False, False)
    ] * 3


async def test_a_child_that_streams_by_its_own_setting_answers_an_invoke(
    openai_server: LocalOpenAIServer,
) -> None:
    """A ChatOpenAI built with ``streaming=True`` streams even when invoked: langchain-core
    reads its stream in ``invoke``, and its ``_generate`` (which the router calls) asks
    for a stream and then takes the stream for a body. Every invoke of such a child, and
    every stream of a checked tier over one, raised ValueError ("Unexpected response
    type ... got Stream") through the router. Answered from the child's stream now, with
    the usage it streamed."""
    child = openai_chat(openai_server, "gpt-4o-mini", streaming=True)
    accept_all = FunctionCheck(lambda messages, answer, previous: 1.0, name="accept_all")
    checked = Tier.of(openai_chat(openai_server, "gpt-4o-mini", streaming=True), check=accept_all)
    router = RoutedChatModel(
        routes={"chat": [Tier.of(child)], "checked": [checked]}, default_task="chat"
    )
    openai_server.script([Reply("streamed child", prompt_tokens=11, completion_tokens=2)] * 4)
    invoked = router.invoke("hello")
    ainvoked = await router.ainvoke("hello")
    streamed = _joined(router.stream("hello", task="checked"))
    astreamed = _joined([c async for c in router.astream("hello", task="checked")])
    for whole in (invoked, ainvoked, streamed, astreamed):
        assert whole.content == "streamed child"
        assert isinstance(whole, AIMessage) and whole.usage_metadata is not None
        assert (whole.usage_metadata["input_tokens"], whole.usage_metadata["output_tokens"]) == (
            11,
            2,
        )
        assert whole.response_metadata["model_name"] == "gpt-4o-mini"
        assert whole.response_metadata["finish_reason"] == "stop"
    assert [request.stream for request in openai_server.requests] == [True] * 4
