"""Task resolution order, route normalisation and model pinning (pure functions)."""

from __future__ import annotations

import pytest

from langchain_costrouter.errors import ConfigError, UnknownTaskError
from langchain_costrouter.routes import (
    Route,
    Tier,
    normalise_routes,
    pinned_route,
    resolve_task,
)
from langchain_costrouter.testing.models import ScriptedChatModel

CHEAP = ScriptedChatModel(model="cheap")
STRONG = ScriptedChatModel(model="strong")
ROUTES = normalise_routes({"chat": [CHEAP], "classification": [CHEAP, STRONG]})


def _resolve(explicit=None, metadata=None, config=None, default="chat"):  # type: ignore[no-untyped-def]
    return resolve_task(explicit, metadata, config, routes=ROUTES, default_task=default)


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


def test_route_forms_normalise_to_tiers() -> None:
    routes = normalise_routes(
        {
            "a": CHEAP,
            "b": [CHEAP, [STRONG, CHEAP]],
            "c": Route(tiers=(Tier.of(STRONG),), max_cost_usd=0.1),
        }
    )
    assert routes["a"].describe() == [["scripted/cheap"]]
    assert routes["b"].describe() == [["scripted/cheap"], ["scripted/strong", "scripted/cheap"]]
    assert routes["c"].max_cost_usd == 0.1


def test_bad_route_spec_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"routes\.x"):
        normalise_routes({"x": 42})
    with pytest.raises(ConfigError, match="routes"):
        normalise_routes({})


def test_pinned_route_finds_a_model_in_any_route() -> None:
    route = pinned_route(ROUTES.values(), "strong")
    assert route.describe() == [["scripted/strong"]]
    with pytest.raises(ConfigError, match="routed models: cheap, strong"):
        pinned_route(ROUTES.values(), "gpt-5")


def test_children_that_retry_on_their_own_are_warned_about() -> None:
    from langchain_openai import ChatOpenAI

    from langchain_costrouter import RoutedChatModel

    retrying = ChatOpenAI(model="gpt-4o", api_key="k", base_url="http://127.0.0.1:9/v1")
    with pytest.warns(UserWarning, match="max_retries=0"):
        RoutedChatModel(routes={"chat": [retrying]}, default_task="chat")
