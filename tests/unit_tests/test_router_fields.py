"""The rules of RoutedChatModel's arguments: default_task routed, ranges, one error type."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter import Budget, RoutedChatModel
from langchain_costrouter.budgets import BudgetGate
from langchain_costrouter.budgets.gate import DEFAULT_LEASE_SECONDS
from langchain_costrouter.config import CONFIG_ENV, checked_router_kwargs
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.router_fields import config_errors, validate_router_fields
from langchain_costrouter.testing.models import ScriptedChatModel

MODEL = ScriptedChatModel(model="m")


def _error(**fields: object) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        validate_router_fields(fields)
    return raised.value


def test_default_task_must_be_routed() -> None:
    error = _error(routes={"chat": MODEL, "code": MODEL}, default_task="nope")
    assert error.key == "default_task"
    assert "'nope' has no route; routed tasks: chat, code" in str(error)


def test_with_one_route_default_task_is_that_route() -> None:
    assert validate_router_fields({"routes": {"chat": MODEL}})["default_task"] == "chat"
    assert "default_task" not in validate_router_fields({"routes": {"a": MODEL, "b": MODEL}})


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"routes": {"chat": [None]}}, "routes.chat[0]"),
        ({}, "routes"),
        ({"routes": {"a": MODEL, "b": MODEL}, "unknown_task": "default"}, "unknown_task"),
        ({"routes": {"chat": MODEL}, "default_task": 3}, "default_task"),
        ({"routes": {"chat": MODEL}, "namespace": ""}, "namespace"),
        ({"routes": {"chat": MODEL}, "default_max_tokens": 0}, "default_max_tokens"),
        ({"routes": {"chat": MODEL}, "default_max_tokens": True}, "default_max_tokens"),
        ({"routes": {"chat": MODEL}, "retry": {"max_retries": -1}}, "retry.max_retries"),
        ({"routes": {"chat": MODEL}, "retry": {"backoff_base": -1.0}}, "retry.backoff_base"),
        ({"routes": {"chat": MODEL}, "compressors": {"code": object()}}, "compressors"),
        ({"routes": {"chat": MODEL}, "compressors": []}, "compressors"),
        ({"routes": {"chat": MODEL}, "budget_lease_seconds": 0}, "budget_lease_seconds"),
        ({"routes": {"chat": MODEL}, "budget_lease_seconds": -5.0}, "budget_lease_seconds"),
        ({"routes": {"chat": MODEL}, "budget_lease_seconds": float("inf")}, "budget_lease_seconds"),
        ({"routes": {"chat": MODEL}, "budget_lease_seconds": float("nan")}, "budget_lease_seconds"),
        ({"routes": {"chat": MODEL}, "budget_lease_seconds": "600"}, "budget_lease_seconds"),
        ({"routes": {"chat": MODEL}, "budget_lease_seconds": True}, "budget_lease_seconds"),
    ],
)
def test_each_broken_rule_names_its_key(fields: dict[str, object], key: str) -> None:
    assert _error(**fields).key == key


def test_errors_from_a_file_name_it() -> None:
    with pytest.raises(ConfigError, match=r"file x\.toml, key 'default_task'"):
        validate_router_fields({"routes": {"chat": MODEL}, "default_task": "x"}, path="x.toml")


def test_config_errors_unwraps_our_error_from_pydantic() -> None:
    with pytest.raises(ConfigError) as raised, config_errors():
        RoutedChatModel(routes={"chat": [None]})
    assert raised.value.key == "routes.chat[0]"


def test_config_errors_names_the_field_pydantic_refused() -> None:
    expected = "key 'reference_model': Input should be a valid string, got 3"
    with pytest.raises(ConfigError, match=expected), config_errors():
        RoutedChatModel(routes={"chat": MODEL}, reference_model=3)


def test_a_budget_given_as_a_dict_is_refused_in_the_packages_words() -> None:
    with pytest.raises(ConfigError) as zero, config_errors():
        RoutedChatModel(routes={"chat": MODEL}, budgets=[{"name": "b", "limit_usd": 0}])
    assert zero.value.key == "budgets.0.limit_usd"
    assert zero.value.reason.startswith("must be a finite number of dollars, more than $0")
    with pytest.raises(ConfigError) as typo, config_errors():
        RoutedChatModel(routes={"chat": MODEL}, budgets=[{"name": "b", "limit_usd": 1, "perod": 1}])
    assert typo.value.key == "budgets.0.perod" and typo.value.reason.startswith("unknown key")


def test_an_error_in_the_file_config_env_names_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError) as raised:
        checked_router_kwargs({})
    assert "the file does not exist" in str(raised.value)
    assert f"read because {CONFIG_ENV}={tmp_path / 'nope.toml'} is set" in str(raised.value)


def test_arguments_in_code_win_over_the_file_config_env_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert checked_router_kwargs({"routes": {"chat": MODEL}})["default_task"] == "chat"


# The façade itself: these need `RoutedChatModel.__init__` to run
# `config_errors()` around `checked_router_kwargs(data)` (the request path's owner wires it).
def test_routed_chat_model_raises_config_error_for_a_none_tier() -> None:
    with pytest.raises(ConfigError, match=r"routes\.chat\[0\]"):
        RoutedChatModel(routes={"chat": [None]})


def test_routed_chat_model_raises_config_error_for_an_unrouted_default_task() -> None:
    with pytest.raises(ConfigError, match="default_task"):
        RoutedChatModel(routes={"chat": MODEL}, default_task="nope")


def test_routed_chat_model_with_one_route_needs_no_task_label() -> None:
    assert RoutedChatModel(routes={"chat": MODEL}).invoke("hi").content == "ok"


def test_routed_chat_model_names_config_env_in_its_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=CONFIG_ENV):
        RoutedChatModel()


def test_a_misspelt_argument_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigError, match="did you mean `budgets`") as raised:
        RoutedChatModel(routes={"chat": MODEL}, budget=[])
    assert raised.value.key == "budget"


def test_a_child_models_parameter_is_ignored_with_a_warning_saying_where_it_goes() -> None:
    with pytest.warns(UserWarning, match=r"ignores temperature=: set it on the child models"):
        router = RoutedChatModel(routes={"chat": MODEL}, temperature=0)
    assert router.invoke("hi").content  # built and routing


@pytest.mark.parametrize(
    "stores",
    [  # a port that is not a number: an unexpanded ${PGPORT}, a typo
        {"ledger": "postgresql://app:s3cretpw@db:${PGPORT}/app"},
        {"cache": "redis://:s3cretpw@cache:63 79/0"},
    ],
)
def test_an_error_building_a_store_never_repeats_its_password(stores: dict[str, str]) -> None:
    """The driver's ValueError reaches pydantic, whose error holds every argument: the
    message must not repeat them (the store URL's password, the routes' reprs)."""
    with pytest.raises(ConfigError) as raised:
        RoutedChatModel(routes={"chat": MODEL}, **stores)
    message = str(raised.value)
    assert "s3cretpw" not in message and "ScriptedChatModel" not in message
    assert "port" in message.lower()


def test_budget_lease_seconds_sets_how_long_the_routers_reservations_count() -> None:
    # Not a field: a call longer than the gate's fixed 600 s lease let its reservation
    # run out mid-call, and the router offered no way to lengthen it.
    budgets = [Budget(name="daily", limit_usd=1)]
    router = RoutedChatModel(routes={"chat": MODEL}, budgets=budgets, budget_lease_seconds=1800)
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate) and gate.lease_seconds == 1800
    default = RoutedChatModel(routes={"chat": MODEL}, budgets=budgets)
    assert default._current().stages.cascade.budgets.gate.lease_seconds == DEFAULT_LEASE_SECONDS
    with pytest.raises(ConfigError) as refused:
        RoutedChatModel(routes={"chat": MODEL}, budgets=budgets, budget_lease_seconds=0)
    assert refused.value.key == "budget_lease_seconds" and "seconds" in str(refused.value)
