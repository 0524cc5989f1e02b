"""What a call may send is checked before any provider call, and refused with the fix."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import InvalidRequestError
from langchain_costrouter.router._input import check_sendable
from langchain_costrouter.testing.models import ScriptedChatModel


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage("fine"), HumanMessage("bad \ud800 text")],
        [HumanMessage("fine"), HumanMessage([{"type": "text", "text": "x\udfff"}])],
    ],
    ids=["string-content", "content-block"],
)
def test_a_lone_surrogate_is_refused_naming_the_message(messages: list[Any]) -> None:
    with pytest.raises(InvalidRequestError, match=r"message 1 \(human\).*lone surrogate"):
        check_sendable(messages)


def test_sendable_text_passes_unicode_included() -> None:
    check_sendable([SystemMessage("Réponds en français 🙂"), HumanMessage("ok")])


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ([("human", "hi"), 3], r"message 1 is not a message: 3 \(int\)"),
        ([object()], r"message 0 is not a message"),
        (42, r"cannot send 42 \(int\)"),
        ([], r"no messages"),
        (
            [ToolMessage("72F", tool_call_id="abc"), HumanMessage("and now?")],
            r"message 0 \(tool\) answers tool call 'abc', which no earlier AI message made",
        ),
        (
            [
                AIMessage("", tool_calls=[{"name": "w", "args": {}, "id": "x1"}]),
                ToolMessage("72F", tool_call_id="x2"),
            ],
            r"message 1 \(tool\) answers tool call 'x2'",
        ),
        ("lone \ud800 surrogate", r"message 0 \(human\) has a lone surrogate"),
    ],
)
def test_input_that_cannot_be_sent_is_a_typed_error_before_any_call(bad: Any, named: str) -> None:
    child = ScriptedChatModel(model="cheap", answers=["unused"])
    router = RoutedChatModel(routes={"chat": [child]})
    with pytest.raises(InvalidRequestError, match=named):
        router.invoke(bad)
    assert child.seen == []  # the provider was never called
