"""Route normalisation, endpoint-aware breaker keys and model pinning (pure functions)."""

from __future__ import annotations

import pytest

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.routes import Route, Tier, normalise_routes, pinned_route
from langchain_costrouter.testing.models import ScriptedChatModel

CHEAP = ScriptedChatModel(model="cheap")
STRONG = ScriptedChatModel(model="strong")
ROUTES = normalise_routes({"chat": [CHEAP], "classification": [CHEAP, STRONG]})


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
