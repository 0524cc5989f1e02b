"""What a routed call may send: checked before any provider call, so nothing is paid for.

Each refusal is an `InvalidRequestError` naming the message (by index) and the fix: no
messages, a tool result for a call no earlier AI message made, text no provider accepts,
input LangChain cannot turn into messages; and ``n`` above 1 (one answer per call).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage, convert_to_messages

from langchain_costrouter.errors import InvalidRequestError


def check_sendable(messages: Sequence[BaseMessage]) -> None:
    """Refuse what no provider accepts before any provider call: no messages at all, a
    tool result answering a tool call no earlier AI message made, lone surrogates.

    Each fails at the provider otherwise (a 400, or deep inside the HTTP client for a
    surrogate from bad decoding), after the router has started paying for the call.
    """
    if not messages:
        raise InvalidRequestError(
            "There is nothing to send: the call has no messages. Pass a string, a "
            "PromptValue or a non-empty list of messages."
        )
    for index, message in enumerate(messages):
        if isinstance(message, ToolMessage):
            _check_tool_result(index, message, messages)
        content = message.content
        if isinstance(content, str):
            if not content.isascii():
                _check_encodable(index, message, content)
            continue
        for text in _texts(content):
            if not text.isascii():
                _check_encodable(index, message, text)


def check_one_answer(kwargs: dict[str, Any]) -> None:
    """Refuse ``n`` above 1: a routed call serves, checks, caches and records one answer.

    A provider asked for ``n`` choices bills all of them, and the router would hand on
    the first and drop the rest without a word.
    """
    n = kwargs.get("n")
    if n is None or (type(n) is int and n == 1):
        return
    raise InvalidRequestError(
        f"n={n!r}: a routed call returns one answer. Drop n, or call the router n times "
        "(e.g. router.batch([prompt] * n)) for several answers."
    )


def unsendable(model_input: Any, error: Exception) -> str:
    """What in a call's input LangChain could not turn into messages, and what to pass."""
    expected = "a string, a PromptValue, or a list of messages (or (role, text) pairs)"
    if isinstance(model_input, Sequence) and not isinstance(model_input, str):
        for index, item in enumerate(model_input):
            try:
                convert_to_messages([item])
            except (NotImplementedError, ValueError):
                return (
                    f"message {index} is not a message: {item!r:.60} "
                    f"({type(item).__name__}); pass {expected}"
                )
    return f"cannot send {model_input!r:.60} ({type(model_input).__name__}); pass {expected}"


def _texts(content: list[Any]) -> list[str]:
    return [part["text"] if isinstance(part, dict) else part for part in content if _is_text(part)]


def _is_text(part: Any) -> bool:
    return isinstance(part, str) or (isinstance(part, dict) and isinstance(part.get("text"), str))


def _check_tool_result(index: int, message: ToolMessage, messages: Sequence[BaseMessage]) -> None:
    """Refuse a tool result for a call no earlier AI message made (looked up only when a
    tool result is there: most prompts have none, and every call is checked)."""
    for earlier in messages[:index]:
        if isinstance(earlier, AIMessage) and any(
            call.get("id") == message.tool_call_id for call in earlier.tool_calls
        ):
            return
    raise InvalidRequestError(
        f"message {index} (tool) answers tool call {message.tool_call_id!r}, which no "
        "earlier AI message made. Keep the AIMessage whose tool_calls holds that id "
        "before its ToolMessage, or drop the ToolMessage."
    )


def _check_encodable(index: int, message: BaseMessage, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            f"message {index} ({message.type}) has a lone surrogate "
            f"{text[error.start]!r} at character {error.start}, which no provider accepts. "
            "Fix how the text was decoded (e.g. bytes.decode('utf-8', errors='replace')) "
            "before sending it."
        ) from None
