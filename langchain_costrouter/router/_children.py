"""Inline delegation to a child chat model, and the chunk shapes the router emits.

The router calls the child's ``_generate``/``_agenerate``/``_stream``/``_astream``
directly instead of its ``invoke``: one LLM run per call, so no usage handler counts
a call twice and LangChain's standard suites see one ``on_chat_model_start`` (calling
the child's ``invoke`` would nest a second run). That bypasses the child's own cache
and rate limiter, so the limiter is applied here and children are built with
``cache=False`` (see docs/architecture.md, "LangChain facts"). A child's stream is
read in `_child_streams`.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    InvalidToolCall,
    ToolCall,
)
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_costrouter.router._structured import native_kwargs

# Keys of a child's response_metadata that the router sets itself, exactly once.
_ROUTER_KEYS = ("model_name", "costrouter")

_STREAM_ONLY = frozenset({"stream_usage", "stream_options"})
"""Call kwargs that ask a stream for its usage (ChatOpenAI's, OpenAI's), and that a
call without streaming must not send."""


def call_child(
    child: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    """One blocking call of ``child``: its result (`first_message` reads the answer)."""
    if child.rate_limiter:
        child.rate_limiter.acquire(blocking=True)
    return child._generate(messages, stop=stop, **native_kwargs(child, _unstreamed(kwargs)))


async def acall_child(
    child: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    """Async twin of `call_child`; uses the child's native ``_agenerate`` when it has one."""
    if child.rate_limiter:
        await child.rate_limiter.aacquire(blocking=True)
    return await child._agenerate(messages, stop=stop, **native_kwargs(child, _unstreamed(kwargs)))


def _unstreamed(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's kwargs without those only a stream takes (`_STREAM_ONLY`).

    The router answers a stream with a child's ``_generate`` where the answer is
    buffered (a checked tier) or the child does not stream, and calls such as a shadow
    evaluation's reuse a stream's kwargs: ChatOpenAI sends unknown kwargs on to the
    OpenAI client (a TypeError before any request) or to the API (``stream_options``
    without ``stream``: a 400). A non-streamed answer carries its usage anyway.
    """
    if "stream_usage" in kwargs or "stream_options" in kwargs:
        return {key: value for key, value in kwargs.items() if key not in _STREAM_ONLY}
    return kwargs


def first_message(result: ChatResult) -> AIMessage:
    """The first generation, with llm_output and generation_info folded into its metadata.

    langchain-core does this folding in ``_generate_with_cache``, which inline
    delegation skips; doing it here keeps e.g. ``finish_reason`` on the answer.
    """
    generation = result.generations[0]
    message = generation.message
    if not isinstance(message, AIMessage):
        message = AIMessage(content=message.content)
    if not result.llm_output and not generation.generation_info:
        return message
    extra = {**(result.llm_output or {}), **(generation.generation_info or {})}
    extra.pop("token_usage", None)
    message.response_metadata = {**extra, **message.response_metadata}
    return message


def chat_result(message: AIMessage, child_result: ChatResult | None) -> ChatResult:
    """The router's result for its answer ``message``.

    When ``message`` is the one ``child_result`` carries (the answer served as the child
    gave it, stamped in place), that result is handed on, its provider fields cleared as
    a fresh one would have them (`first_message` folded them into the message already).
    Building and validating LangChain's two models again was an eighth of the router's
    own time per call (bench/overhead.py). Otherwise (a cache hit, a best-effort answer
    of an earlier tier) a fresh result is built.
    """
    if child_result is not None:
        generations = child_result.generations
        if len(generations) == 1 and generations[0].message is message:
            if generations[0].generation_info is not None:
                generations[0].generation_info = None
            if child_result.llm_output is not None:
                child_result.llm_output = None
            return child_result
    return ChatResult(generations=[ChatGeneration(message=message)])


def strip_router_keys(chunk: ChatGenerationChunk) -> ChatGenerationChunk:
    """Drop usage and model_name from a child's chunk: the router emits them once, last."""
    message = chunk.message
    if isinstance(message, AIMessageChunk):
        message.usage_metadata = None
        message.chunk_position = None
    message.response_metadata = {
        k: v for k, v in message.response_metadata.items() if k not in _ROUTER_KEYS
    }
    chunk.generation_info = None
    return chunk


def router_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """The keys the router adds to an answer's metadata: what a live stream's closing
    chunk carries (its other keys reached the caller on the child's chunks already, and
    langchain-core joins a string sent twice: ``"stopstop"``)."""
    return {key: metadata[key] for key in _ROUTER_KEYS if key in metadata}


def content_chunk(message: AIMessage) -> ChatGenerationChunk:
    """The body of a finished answer as one chunk: text, tool calls, extra kwargs."""
    extra = {k: v for k, v in message.additional_kwargs.items() if k != "tool_calls"}
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=message.content,
            additional_kwargs=extra,
            tool_call_chunks=tool_call_chunks(message.tool_calls, message.invalid_tool_calls),
            id=message.id,
        )
    )


def whole_chunk(message: AIMessage) -> ChatGenerationChunk:
    """A whole answer as the one chunk of a child that does not stream (it sets
    ``disable_streaming``, or implements no ``_stream``): langchain-core's ``stream``
    calls such a model once, and so does the router, instead of forcing its stream."""
    chunk = content_chunk(message)
    body = chunk.message
    assert isinstance(body, AIMessageChunk)
    body.usage_metadata = message.usage_metadata
    body.response_metadata = message.response_metadata
    return chunk


def final_chunk(message: AIMessage, response_metadata: dict[str, Any]) -> ChatGenerationChunk:
    """The closing chunk: the only one carrying usage, model_name and the costrouter record."""
    empty: str | list[str | dict[str, Any]] = "" if isinstance(message.content, str) else []
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=empty,
            usage_metadata=message.usage_metadata,
            response_metadata=response_metadata,
            chunk_position="last",
            id=message.id,
        )
    )


def tool_call_chunks(
    tool_calls: list[ToolCall], invalid: list[InvalidToolCall] | None = None
) -> list[ToolCallChunk]:
    """Finished tool calls as the chunks a stream carries (arguments as JSON text).

    Invalid calls come last with their arguments as the model sent them, as the child's
    own stream would carry them: dropped, the caller would never learn the call was made.
    """
    chunks = [
        tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call.get("id"))
        for call in tool_calls
    ]
    chunks += [
        tool_call_chunk(name=call.get("name"), args=call.get("args"), id=call.get("id"))
        for call in invalid or ()
    ]
    for index, chunk in enumerate(chunks):
        chunk["index"] = index
    return chunks
