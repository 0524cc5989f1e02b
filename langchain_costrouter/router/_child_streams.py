"""A child chat model's stream read inline, and its chunks merged back into its answer.

The router reads the child's ``_stream``/``_astream`` itself (one LLM run per call, see
`_children`), so it does what langchain-core's ``stream`` would: fold each chunk's
``generation_info`` into its message, call a child that does not stream once. It holds
back the chunks a provider opens its stream with until one shows the caller something,
so a stream that fails before its first text fails over (README, "Streaming"). What the
caller was shown is merged back into the answer the router prices, records and caches.
A child that streams every call is read here for a whole answer too (`read_child`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    BaseMessageChunk,
    InvalidToolCall,
    ToolCall,
    message_chunk_to_message,
)
from langchain_core.messages.tool import ToolCallChunk, invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_costrouter.router._children import (
    acall_child,
    call_child,
    first_message,
    whole_chunk,
)
from langchain_costrouter.router._structured import native_kwargs


def stream_child(
    child: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    received: list[BaseMessageChunk],
) -> Iterator[ChatGenerationChunk]:
    """The child's chunks, its opening ones that show nothing held back (`_blank`).

    A copy of each chunk's message goes to ``received`` as it arrives, held back or not:
    what the router prices (`merge_chunks`), a stream that broke before showing anything
    included (the provider had taken the request, see `_io._broken`).
    """
    if not child._should_stream(async_api=False, **{**kwargs, "stream": True}):
        message = first_message(call_child(child, messages, stop, kwargs))
        yield _kept(whole_chunk(message), received)
        return
    if child.rate_limiter:
        child.rate_limiter.acquire(blocking=True)
    opening: list[ChatGenerationChunk] | None = []  # see `_blank`
    for chunk in child._stream(messages, stop=stop, **native_kwargs(child, kwargs)):
        if chunk.generation_info:
            chunk = _folded(chunk)
        received.append(chunk.message.model_copy())  # see `merge_chunks`
        if opening is not None:
            if _blank(chunk.message):
                opening.append(chunk)
                continue
            yield from opening
            opening = None
        yield chunk
    yield from opening or ()


async def astream_child(
    child: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    received: list[BaseMessageChunk],
) -> AsyncGenerator[ChatGenerationChunk, None]:
    """Async twin of `stream_child`."""
    if not child._should_stream(async_api=True, **{**kwargs, "stream": True}):
        message = first_message(await acall_child(child, messages, stop, kwargs))
        yield _kept(whole_chunk(message), received)
        return
    if child.rate_limiter:
        await child.rate_limiter.aacquire(blocking=True)
    opening: list[ChatGenerationChunk] | None = []  # see `_blank`
    async for chunk in child._astream(messages, stop=stop, **native_kwargs(child, kwargs)):
        if chunk.generation_info:
            chunk = _folded(chunk)
        received.append(chunk.message.model_copy())  # see `merge_chunks`
        if opening is not None:
            if _blank(chunk.message):
                opening.append(chunk)
                continue
            for held in opening:
                yield held
            opening = None
        yield chunk
    for held in opening or ():
        yield held


def read_child(
    child: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    received: list[BaseMessageChunk],
) -> ChatResult:
    """One call of ``child`` for a whole answer: its ``_generate``, or, for a child that
    streams every call (ChatOpenAI's ``streaming=True``), its stream read to the end.

    langchain-core reads such a child's stream in ``invoke`` (``_generate_with_cache``),
    which inline delegation skips, and its ``_generate`` may not stream by itself:
    ChatOpenAI's asks the API for a stream, then reads the stream as a body
    (ValueError). Each chunk's message goes to ``received``, as in `stream_child`, so a
    stream that breaks is billed on what it sent (`_io._broken`).
    """
    if not child._should_stream(async_api=False, **kwargs):
        return call_child(child, messages, stop, kwargs)
    if child.rate_limiter:
        child.rate_limiter.acquire(blocking=True)
    for chunk in child._stream(messages, stop=stop, **native_kwargs(child, kwargs)):
        received.append((_folded(chunk) if chunk.generation_info else chunk).message)
    return _read(received)


async def aread_child(
    child: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    received: list[BaseMessageChunk],
) -> ChatResult:
    """Async twin of `read_child`."""
    if not child._should_stream(async_api=True, **kwargs):
        return await acall_child(child, messages, stop, kwargs)
    if child.rate_limiter:
        await child.rate_limiter.aacquire(blocking=True)
    async for chunk in child._astream(messages, stop=stop, **native_kwargs(child, kwargs)):
        received.append((_folded(chunk) if chunk.generation_info else chunk).message)
    return _read(received)


def _read(received: list[BaseMessageChunk]) -> ChatResult:
    """A stream read to its end as the child's result (tool arguments checked whole)."""
    return ChatResult(generations=[ChatGeneration(message=merge_chunks(received))])


def _kept(chunk: ChatGenerationChunk, received: list[BaseMessageChunk]) -> ChatGenerationChunk:
    received.append(chunk.message.model_copy())
    return chunk


def _blank(message: BaseMessageChunk) -> bool:
    """Whether a chunk shows the caller nothing: no text, tool call or extra field.

    A provider opens its stream with such chunks (OpenAI's carries only the role,
    Anthropic's ``message_start`` only usage). The child's streams hold them back until
    a chunk with something in it follows (or the stream ends), so a stream dropped or
    stalled right after them has shown the caller nothing and fails over like any
    failure before the answer (README, "Streaming"), instead of being a cut answer.
    It is still billed: the provider had taken the prompt (`_attempts.failed_attempt`).
    """
    return not (
        message.content
        or message.additional_kwargs
        or (isinstance(message, AIMessageChunk) and message.tool_call_chunks)
    )


def _folded(chunk: ChatGenerationChunk) -> ChatGenerationChunk:
    """A child's chunk with its ``generation_info`` folded into the message's metadata.

    langchain-core does this in ``stream``, which inline delegation skips; ChatOpenAI
    streams ``finish_reason``, ``logprobs`` and ``system_fingerprint`` there, and the
    caller's chunks and the answer's record would lose them (`strip_router_keys` drops
    ``generation_info``, which carries the child's ``model_name``, too).
    """
    message = chunk.message
    message.response_metadata = {**(chunk.generation_info or {}), **message.response_metadata}
    chunk.generation_info = None
    return chunk


def merge_chunks(chunks: list[BaseMessageChunk]) -> AIMessage:
    """The child's answer from the messages of its chunks, as they came.

    The caller's chunks are stripped of usage and metadata (`strip_router_keys`), so
    the router keeps a copy of each message first. A shallow copy is enough: the
    stripping reassigns fields and never changes them in place (a deep copy per chunk
    cost as much as the rest of the streaming path).
    """
    if not chunks:
        return AIMessage(content="")
    first, *rest = chunks
    merged = first + rest if rest else first
    message = message_chunk_to_message(merged)
    assert isinstance(message, AIMessage)
    if isinstance(merged, AIMessageChunk) and merged.tool_call_chunks:
        _whole_tool_calls(message, merged.tool_call_chunks)
    return message


def _whole_tool_calls(message: AIMessage, chunks: list[ToolCallChunk]) -> None:
    """Tool calls whose streamed arguments are not whole JSON made invalid, as a
    non-streamed answer's are.

    LangChain reads streamed arguments as partial JSON (right for showing them as they
    arrive), so a stream cut inside them (``finish_reason: length``) merged into a
    valid-looking call without its last arguments: recorded, checked and cached as one.
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for chunk in chunks:
        text = chunk["args"]
        args, problem = _json_object(text)
        if args is not None:
            calls.append(tool_call(name=chunk["name"] or "", args=args, id=chunk["id"]))
        else:
            invalid.append(
                invalid_tool_call(name=chunk["name"], args=text, id=chunk["id"], error=problem)
            )
    message.tool_calls, message.invalid_tool_calls = calls, invalid


def _json_object(text: str | None) -> tuple[dict[str, Any] | None, str]:
    """Streamed tool arguments as an object (none sent: ``{}``), or why they are not one."""
    try:
        args = json.loads(text) if text else {}
    except ValueError as error:
        return None, f"arguments are not whole JSON: {error}"
    return (args, "") if isinstance(args, dict) else (None, "arguments are not a JSON object")
