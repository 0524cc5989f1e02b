"""Route normalisation, endpoint-aware breaker keys and model pinning (pure functions)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel

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
    quiet = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url="http://127.0.0.1:9/v1")
    quiet.max_retries = 0
    with pytest.warns(UserWarning, match="max_retries=0") as caught:
        RoutedChatModel(routes={"chat": [quiet, retrying], "code": [retrying]})
    warned = [str(w.message) for w in caught if "retries on its own" in str(w.message)]
    assert warned == [  # once per child, the one that does not retry left out
        "openai/gpt-4o retries on its own (max_retries=None); build it with max_retries=0 "
        "so that the router's retry, failover and circuit breaker see every fault."
    ]


CONFIG = """
[router]
default_task = "chat"

[providers.local]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[models.small]
provider = "local"
model = "gpt-4o-mini"

[routes]
chat = ["small"]
"""


def _retrying() -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="gpt-4o", api_key="k", base_url="http://127.0.0.1:9/v1")


def _retry_warnings(caught: pytest.WarningsRecorder) -> list[tuple[str, int]]:
    return [(w.filename, w.lineno) for w in caught if "retries on its own" in str(w.message)]


def test_the_retry_warning_points_at_the_line_that_built_the_router() -> None:
    """Where to fix it: the caller's line, never pydantic's ``__init__`` (where it
    pointed) nor a line of the package."""
    from langchain_costrouter import RoutedChatModel

    line = sys._getframe().f_lineno + 2  # the line in the block below
    with pytest.warns(UserWarning, match="retries on its own") as caught:
        RoutedChatModel(routes={"chat": [_retrying()]})
    assert _retry_warnings(caught) == [(__file__, line)]


def test_the_retry_warning_points_at_the_line_that_read_the_config(tmp_path: Path) -> None:
    from langchain_costrouter import RoutedChatModel

    path = tmp_path / "costrouter.toml"
    path.write_text(CONFIG)
    line = sys._getframe().f_lineno + 2  # the line in the block below
    with pytest.warns(UserWarning, match="retries on its own") as caught:
        RoutedChatModel.from_config(path, routes={"chat": [_retrying()]})
    assert _retry_warnings(caught) == [(__file__, line)]


@pytest.mark.parametrize(
    ("routes", "key", "message"),
    [
        ({"chat": [None]}, "routes.chat[0]", "a tier is a chat model, a Deployment or a list"),
        ({"chat": [[CHEAP, None]]}, "routes.chat[0][1]", "expected a chat model or a Deployment"),
        ({"chat": []}, "routes.chat", "at least one tier"),
        ({"chat": "gpt-4o"}, "routes.chat", "a route must be a chat model"),
        ({"chat": None}, "routes.chat", "a route must be a chat model"),
        ({"": [CHEAP]}, "routes (task label)", "non-empty string"),
        ({3: [CHEAP]}, "routes (task label)", "non-empty string"),
        (
            {"chat": Route(tiers=(Tier.of(CHEAP),), max_cost_usd=-1)},
            "routes.chat.max_cost_usd",
            "expected a number > 0, got -1",
        ),
        ({"chat": Route(tiers=())}, "routes.chat.tiers", "at least one Tier"),
        ({"chat": Route(tiers=(CHEAP,))}, "routes.chat.tiers[0]", "expected a Tier"),  # type: ignore[arg-type]
        (
            {"chat": [Tier(deployments=(), threshold=0.5)]},
            "routes.chat[0].deployments",
            "at least one Deployment",
        ),
        (
            {"chat": [Tier(deployments=(CHEAP,))]},  # type: ignore[arg-type]
            "routes.chat[0][0]",
            "expected a Deployment",
        ),
        (
            {"chat": [Tier(deployments=Tier.of(CHEAP).deployments, check="yes")]},  # type: ignore[arg-type]
            "routes.chat[0].check",
            "expected a quality check",
        ),
        (
            {"chat": [Tier(deployments=Tier.of(CHEAP).deployments, threshold=float("nan"))]},
            "routes.chat[0].threshold",
            "expected a number",
        ),
    ],
)
def test_a_malformed_route_is_a_config_error_naming_it(
    routes: dict[object, object], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        normalise_routes(routes)  # type: ignore[arg-type]
    assert raised.value.key == key
    assert message in str(raised.value)


@pytest.mark.parametrize("threshold", [5, -0.1, "0.5", True])
def test_tier_of_takes_thresholds_in_the_unit_interval(threshold: object) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        Tier.of(CHEAP, threshold=threshold)  # type: ignore[arg-type]


def test_a_calibrated_never_accept_threshold_above_one_is_kept() -> None:
    tier = Tier(deployments=Tier.of(CHEAP).deployments, threshold=1.0 + 1e-9)
    assert normalise_routes({"chat": [tier]})["chat"].tiers[0] is tier


def test_a_router_as_a_routes_deployment_is_a_config_error() -> None:
    """A router answering as another router's deployment is recorded twice on a shared
    ledger (its own rows, and one for it as a model), priced as an unknown model
    'costrouter' (its real cost lost), and no budget can reserve for it."""
    from langchain_costrouter import RoutedChatModel
    from langchain_costrouter.routes import Deployment

    inner = RoutedChatModel(routes={"chat": [CHEAP]})
    with pytest.raises(ConfigError, match=r"routes\.chat\[0\].*RoutedChatModel.*tiers"):
        RoutedChatModel(routes={"chat": [inner, STRONG]})
    priced = Deployment(inner, "inner", "own", price_model="cheap")  # still two rows a call
    builds: list[Callable[[], Tier]] = [lambda: Tier.of(inner), lambda: Tier.of(priced)]
    for build in builds:
        with pytest.raises(ConfigError, match="PromptCompressor"):
            build()
