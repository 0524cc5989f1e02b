"""Settling a call before any I/O: its task label, and input no provider accepts."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import InvalidRequestError, UnknownTaskError
from langchain_costrouter.router._request import (
    RouteTable,
    check_sendable,
    config_task,
)
from langchain_costrouter.routes import normalise_routes
from langchain_costrouter.testing.models import ScriptedChatModel

CHEAP = ScriptedChatModel(model="cheap")
STRONG = ScriptedChatModel(model="strong")
ROUTES = normalise_routes({"chat": [CHEAP], "classification": [CHEAP, STRONG]})


def _resolve(
    explicit: str | None = None,
    metadata: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    default: str | None = "chat",
) -> str:
    table = RouteTable(ROUTES, default, "error")
    configured = config_task(config) if config else None  # type: ignore[arg-type]
    return table.route_for(explicit, metadata, configured)[0]


def test_explicit_label_beats_run_metadata_and_config() -> None:
    assert (
        _resolve("classification", {"task": "chat"}, {"metadata": {"task": "chat"}})
        == "classification"
    )


def test_run_metadata_beats_config() -> None:
    assert (
        _resolve(None, {"task": "classification"}, {"metadata": {"task": "chat"}})
        == "classification"
    )


def test_config_metadata_then_configurable() -> None:
    assert _resolve(None, None, {"configurable": {"task": "classification"}}) == "classification"
    config = {"metadata": {"task": "chat"}, "configurable": {"task": "classification"}}
    assert _resolve(None, None, config) == "chat"


def test_default_when_no_label() -> None:
    assert _resolve() == "chat"


def test_unknown_label_lists_known_labels() -> None:
    with pytest.raises(UnknownTaskError) as caught:
        _resolve("summarise")
    assert "chat, classification" in str(caught.value)
    assert caught.value.task == "summarise"


def test_no_label_and_no_default_is_an_error() -> None:
    with pytest.raises(UnknownTaskError, match="Known task labels"):
        _resolve(default=None)


def test_an_unknown_label_can_fall_back_to_the_default_route() -> None:
    table = RouteTable(ROUTES, "chat", "default")
    task, route = table.route_for("summarise", None)
    assert task == "chat"
    assert route is ROUTES["chat"]


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
        ("lone \ud800 surrogate", r"message 0 \(human\) has a lone surrogate"),
    ],
)
def test_input_that_cannot_be_sent_is_a_typed_error_before_any_call(bad: Any, named: str) -> None:
    child = ScriptedChatModel(model="cheap", answers=["unused"])
    router = RoutedChatModel(routes={"chat": [child]})
    with pytest.raises(InvalidRequestError, match=named):
        router.invoke(bad)
    assert child.seen == []  # the provider was never called
