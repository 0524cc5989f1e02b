"""Settling a call before any I/O: its task label, and input no provider accepts."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from langchain_costrouter.errors import InvalidRequestError, UnknownTaskError
from langchain_costrouter.router._request import RouteTable, config_task
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


class _Task(enum.Enum):
    CHAT = "chat"


class _StrTask(enum.StrEnum):
    CHAT = "chat"


@pytest.mark.parametrize(
    ("explicit", "metadata"),
    [(_Task.CHAT, None), (3, None), ("", None), (None, {"task": _Task.CHAT}), (None, {"task": ""})],
)
def test_a_label_that_is_not_a_non_empty_string_is_refused(explicit: Any, metadata: Any) -> None:
    table = RouteTable(ROUTES, "chat", "default")  # even where unknown labels fall back
    with pytest.raises(InvalidRequestError, match="must be a non-empty string") as caught:
        table.route_for(explicit, metadata)
    assert "chat, classification" in str(caught.value)


def test_a_str_enum_label_routes_as_its_value() -> None:
    assert _resolve(_StrTask.CHAT) == "chat"  # type: ignore[arg-type]


def test_an_unknown_label_can_fall_back_to_the_default_route() -> None:
    table = RouteTable(ROUTES, "chat", "default")
    task, route = table.route_for("summarise", None)
    assert task == "chat"
    assert route is ROUTES["chat"]
