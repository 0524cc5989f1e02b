"""Anthropic's Messages API wire format for the local server (`anthropic_server`): a
`Reply` as one message body or as the SSE events of a stream, and error bodies.

The events come in Anthropic's order: ``message_start`` (the input usage, one output
token), ``content_block_start``, one ``content_block_delta`` per word,
``content_block_stop``, ``message_delta`` (the stop reason and the whole usage, input
tokens included, as Anthropic now sends it) and ``message_stop``.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_costrouter.testing.replies import Reply
from langchain_costrouter.testing.tokens import count_text_tokens

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""The HTTP status Anthropic sends each of its error types with."""


def message_body(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    """The whole answer to a request that does not stream."""
    return _message(reply, body, whole=True)


def error_body(error_type: str, message: str) -> dict[str, Any]:
    """Anthropic's error object, as an error status's body or an ``error`` event's data."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def stream_events(reply: Reply, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The SSE events of ``reply`` streamed, in the order Anthropic sends them."""
    opening = _message(reply, body, whole=False)
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": opening}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": _text("")},
        ),
    ]
    for piece in re.findall(r"\s*\S+\s*|\s+", reply.text or ""):
        delta = {"type": "text_delta", "text": piece}
        event = {"type": "content_block_delta", "index": 0, "delta": delta}
        events.append(("content_block_delta", event))
    usage = _usage(reply, body)
    stop = {"stop_reason": reply.finish_reason or "end_turn", "stop_sequence": None}
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": stop, "usage": usage}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _message(reply: Reply, body: dict[str, Any], *, whole: bool) -> dict[str, Any]:
    """The answer as a message: whole, or as ``message_start`` opens a stream (no
    content yet, the input usage and one output token)."""
    usage = _usage(reply, body)
    return {
        "id": "msg_local",
        "type": "message",
        "role": "assistant",
        "model": reply.model or str(body.get("model") or "unknown"),
        "content": [_text(reply.text or "")] if whole else [],
        "stop_reason": (reply.finish_reason or "end_turn") if whole else None,
        "stop_sequence": None,
        "usage": usage if whole else {**usage, "output_tokens": 1},
    }


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    """Input tokens (the prompt's text in cl100k_base), output tokens of the text;
    a `Reply`'s own counts when it sets them."""
    messages = body.get("messages")
    turns = messages if isinstance(messages, list) else []
    prompt = [body.get("system"), *(m.get("content") for m in turns if isinstance(m, dict))]
    counted = sum(count_text_tokens(_plain(part)) for part in prompt)
    input_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else counted
    output = reply.completion_tokens
    return {
        "input_tokens": input_tokens,
        "output_tokens": output if output is not None else count_text_tokens(reply.text or ""),
    }


def _plain(content: object) -> str:
    """A system prompt's or a message's text: a string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return ""


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}
