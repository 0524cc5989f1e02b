"""Prompt and answer text in the conventions' message shapes (only when the user opts in).

``gen_ai.input.messages`` and ``gen_ai.output.messages`` follow the conventions' input
and output message JSON schemas (role, parts of type ``text``, ``tool_call``,
``tool_call_response``; an output's ``finish_reason``). Spans take no structured
values yet, so each is a JSON string, as the conventions say for spans.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def input_messages(messages: list[BaseMessage]) -> str:
    """The messages sent, as the input messages schema's JSON."""
    return _json([{"role": _ROLES.get(m.type, m.type), "parts": _parts(m)} for m in messages])


def output_messages(answer: AIMessage) -> str:
    """The answer, as the output messages schema's JSON (one choice)."""
    finish = answer.response_metadata.get("finish_reason") or (
        "tool_call" if answer.tool_calls else "stop"
    )
    return _json([{"role": "assistant", "parts": _parts(answer), "finish_reason": finish}])


def _parts(message: BaseMessage) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if isinstance(message, ToolMessage):
        response = {"type": "tool_call_response", "id": message.tool_call_id}
        return [{**response, "response": message.text}]
    if message.text:
        parts.append({"type": "text", "content": message.text})
    if isinstance(message, AIMessage):
        parts.extend(
            {"type": "tool_call", "id": c.get("id"), "name": c["name"], "arguments": c["args"]}
            for c in message.tool_calls
        )
    return parts


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
