"""A budget store that is down: refuse calls (the default) or let them through, loudly."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.budgets import Budget, BudgetGate, CallContext, RateLimit
from langchain_costrouter.errors import BackendUnavailableWarning, BudgetStoreError, ConfigError
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.integration_tests.budgets.conftest import clean_up

pytestmark = pytest.mark.services
DOWN = [
    "redis://127.0.0.1:1/0?prefix=nobody:",
    "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1",
]
ACME = CallContext("chat", {"tenant": "acme"})


@pytest.mark.parametrize("url", DOWN, ids=["redis", "postgres"])
def test_a_store_that_is_down_refuses_calls_and_names_itself(url: str) -> None:
    gate = BudgetGate(
        [Budget(name="tenant", per="tenant", limit_usd=1)], url, rate_limits={"d": RateLimit(rpm=1)}
    )
    with pytest.raises(BudgetStoreError, match=r"(?s)127\.0\.0\.1:1.*refused while their budgets"):
        gate.reserve(ACME, "d", Decimal("0.1"))
    with pytest.raises(BudgetStoreError):
        gate.acquire_rate("d", 10)


@pytest.mark.parametrize("url", DOWN, ids=["redis", "postgres"])
def test_allow_lets_calls_through_with_a_warning(url: str) -> None:
    gate = BudgetGate(
        [Budget(name="tenant", per="tenant", limit_usd=1)],
        url,
        rate_limits={"d": RateLimit(rpm=1)},
        on_store_error="allow",
    )
    with pytest.warns(BackendUnavailableWarning, match="Letting the call through"):
        reservation = gate.reserve(ACME, "d", Decimal("0.1"))
    assert not reservation.tracked
    assert gate.settle(reservation, Decimal("0.05")).counted_usd == Decimal("0.05")
    with pytest.warns(BackendUnavailableWarning):
        assert gate.acquire_rate("d", 10).granted


def test_a_router_lets_calls_through_a_store_that_is_down_when_told_to() -> None:
    child = ScriptedChatModel(model="gpt-4o-mini", answers=["ok"])
    budgets = [Budget(name="tenant", per="tenant", limit_usd=1)]
    refusing = RoutedChatModel(routes={"chat": [child]}, budgets=budgets, budget_store=DOWN[0])
    with pytest.raises(BudgetStoreError, match="on_budget_store_error='allow'"):
        refusing.invoke("hi")
    allowing = RoutedChatModel(
        routes={"chat": [child]},
        budgets=budgets,
        budget_store=DOWN[0],
        on_budget_store_error="allow",
    )
    with pytest.warns(BackendUnavailableWarning, match="Letting the call through"):
        assert allowing.invoke("hi").content == "ok"
    assert child.calls == 1  # the refused call never reached the provider


def test_a_gate_given_where_a_store_goes_is_refused_at_once() -> None:
    gate = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], "memory://")
    with pytest.raises(ConfigError, match="expected a store URL or a BudgetStore, got BudgetGate"):
        RoutedChatModel(
            routes={"chat": [ScriptedChatModel(model="gpt-4o-mini")]},
            budgets=[Budget(name="tenant", per="tenant", limit_usd=1)],
            budget_store=gate,
        )


async def test_async_calls_refuse_too() -> None:
    gate = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], DOWN[0])
    with pytest.raises(BudgetStoreError):
        await gate.areserve(ACME, "d", Decimal("0.1"))


def test_a_store_failing_at_settlement_warns_instead_of_failing_the_answered_call(
    redis_url: str,
) -> None:
    url = f"{redis_url}?prefix=costrouter-test:{uuid.uuid4().hex}:"
    reservation = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], url).reserve(
        ACME, "d", 0.1
    )
    broken = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], DOWN[0])
    with pytest.warns(BackendUnavailableWarning, match="was not settled"):
        settlement = broken.settle(reservation, Decimal("0.05"))
    assert settlement.counted_usd == Decimal("0.05")
    clean_up(url)
