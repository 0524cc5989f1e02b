"""Turn a ``Reply`` into OpenAI's chat completions wire format: one JSON body or SSE chunks.

The request's own parameters shape the answer the way OpenAI applies them: ``stop`` cuts the
text at the first stop sequence, ``max_completion_tokens``/``max_tokens`` truncate it (finish
reason ``length``; a server may honour only some of those fields, as llama.cpp's reads
``max_tokens`` only), and ``usage`` reports what was actually sent.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from langchain_costrouter.testing.replies import DEFAULT_LOGPROB, Reply, ToolCall
from langchain_costrouter.testing.tokens import count_text_tokens, truncate_to_tokens


@dataclass(frozen=True)
class Completion:
    """A rendered answer, ready to be sent whole or as a stream."""

    id: str
    created: int
    model: str
    content: str | None
    tool_calls: tuple[dict[str, Any], ...]
    finish_reason: str
    usage: dict[str, Any]
    token_logprobs: tuple[dict[str, Any], ...] | None = None
    """OpenAI's per-token entries, one per word piece; None unless the request asked."""


OUTPUT_CAP_FIELDS = ("max_completion_tokens", "max_tokens")
"""The request fields that cap an answer's length on OpenAI."""


def render(
    reply: Reply,
    body: dict[str, Any],
    prompt_tokens: int,
    cap_fields: tuple[str, ...] = OUTPUT_CAP_FIELDS,
) -> Completion:
    """Apply the request's stop and length limits to ``reply`` and count its usage.

    Only the fields in ``cap_fields`` cap the length; the others are ignored.
    """
    content, finish_reason = _limit_text(reply.text, body, cap_fields)
    tool_calls = tuple(_wire_tool_call(call) for call in reply.tool_calls)
    if tool_calls and finish_reason == "stop":
        finish_reason = "tool_calls"
    return Completion(
        id=f"chatcmpl-{uuid.uuid4().hex[:24]}",
        created=int(time.time()),
        model=reply.model or str(body.get("model") or "unknown"),
        content=content,
        tool_calls=tool_calls,
        finish_reason=reply.finish_reason or finish_reason,
        usage=_usage(reply, prompt_tokens, content, reply.tool_calls),
        token_logprobs=_token_logprobs(reply, content) if body.get("logprobs") else None,
    )


def completion_body(completion: Completion) -> dict[str, Any]:
    """The non-streaming response body."""
    message: dict[str, Any] = {"role": "assistant", "content": completion.content, "refusal": None}
    if completion.tool_calls:
        message["tool_calls"] = list(completion.tool_calls)
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": _logprobs_field(completion.token_logprobs),
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": completion.usage,
    }


def stream_chunks(completion: Completion, *, include_usage: bool) -> list[dict[str, Any]]:
    """The SSE chunks of a streamed answer, without the final ``[DONE]`` marker.

    The first chunk carries the role; then one chunk per word of content, then each tool
    call's header and arguments, then the finish reason; with ``include_usage`` every chunk
    has ``usage: null`` and a last chunk with no choices carries the usage.
    """
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in _pieces(completion.content or "")]
    entries = completion.token_logprobs
    for index, call in enumerate(completion.tool_calls):
        header = {**call, "index": index, "function": {**call["function"], "arguments": ""}}
        deltas.append({"tool_calls": [header]})
        for piece in _pieces(call["function"]["arguments"]):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    chunks = [_chunk(completion, [_choice(delta, None)], include_usage) for delta in deltas]
    for index, entry in enumerate(entries or ()):
        chunks[index + 1]["choices"][0]["logprobs"] = _logprobs_field((entry,))
    chunks.append(_chunk(completion, [_choice({}, completion.finish_reason)], include_usage))
    if include_usage:
        chunks.append({**_chunk(completion, [], include_usage), "usage": completion.usage})
    return chunks


def _chunk(
    completion: Completion, choices: list[dict[str, Any]], include_usage: bool
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "choices": choices,
    }
    if include_usage:
        chunk["usage"] = None
    return chunk


def _choice(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _token_logprobs(reply: Reply, content: str | None) -> tuple[dict[str, Any], ...]:
    """One OpenAI ``logprobs.content`` entry per word piece of what is sent."""
    values = reply.logprobs or (DEFAULT_LOGPROB,)
    return tuple(
        {
            "token": piece,
            "logprob": values[min(index, len(values) - 1)],
            "bytes": list(piece.encode("utf-8")),
            "top_logprobs": [],
        }
        for index, piece in enumerate(_pieces(content or ""))
    )


def _logprobs_field(entries: tuple[dict[str, Any], ...] | None) -> dict[str, Any] | None:
    return None if entries is None else {"content": list(entries), "refusal": None}


def _pieces(text: str) -> list[str]:
    """Split text into word-sized pieces that concatenate back to it."""
    return re.findall(r"\s*\S+\s*|\s+", text) if text else []


def _limit_text(
    text: str | None, body: dict[str, Any], cap_fields: tuple[str, ...]
) -> tuple[str | None, str]:
    if text is None:
        return None, "stop"
    stops = body.get("stop") or []
    for stop in [stops] if isinstance(stops, str) else stops:
        if stop and stop in text:
            text = text[: text.index(stop)]
    limit = next((body[field] for field in cap_fields if body.get(field)), None)
    if isinstance(limit, int) and count_text_tokens(text) > limit:
        return truncate_to_tokens(text, limit), "length"
    return text, "stop"


def _wire_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def _usage(
    reply: Reply, prompt_tokens: int, content: str | None, tool_calls: tuple[ToolCall, ...]
) -> dict[str, Any]:
    prompt = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens
    completion = reply.completion_tokens
    if completion is None:
        visible = count_text_tokens(content or "")
        visible += sum(count_text_tokens(call.name + call.arguments_json()) for call in tool_calls)
        completion = visible + (reply.reasoning_tokens or 0)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    cached = None if reply.cached_tokens is None else min(reply.cached_tokens, prompt)
    prompt_details = _details(cached_tokens=cached, audio_tokens=reply.input_audio_tokens)
    if prompt_details:
        usage["prompt_tokens_details"] = prompt_details
    completion_details = _details(
        reasoning_tokens=reply.reasoning_tokens, audio_tokens=reply.output_audio_tokens
    )
    if completion_details:
        usage["completion_tokens_details"] = completion_details
    return usage


def _details(**counts: int | None) -> dict[str, int]:
    """The token details a reply sets, as OpenAI names them (``cached_tokens``...)."""
    return {name: count for name, count in counts.items() if count is not None}
