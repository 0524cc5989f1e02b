"""A SQL reservation refused while other calls were in flight: retried once they settled,
and a refusal that stands names the account without room, not the first account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
from langchain_costrouter.budgets.sql_store import SQLStore
from langchain_costrouter.errors import BudgetExhaustedError
from tests.integration_tests.budgets.conftest import clean_up, store_url

pytestmark = pytest.mark.services
ACME = CallContext("chat", {"tenant": "acme"})
# "everyone" sorts before "tenant": the global account is the first of the claims.
TENANT = Budget(name="tenant", per="tenant", limit_usd=1, soft_threshold=None)
EVERYONE = Budget(name="everyone", limit_usd=10, per=None, soft_threshold=None)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = store_url(request.param, request, tmp_path)
    yield url
    clean_up(url)


def _after_first_refusal(store: SQLStore, action: Callable[[], Any]) -> list[int | None]:
    """Run ``action`` right after the store's first refused attempt, as a concurrent
    settlement landing between the refusal and the store's second look would."""
    attempts: list[int | None] = []
    try_reserve = store._try_reserve

    def racing(conn: Any, ask: Any) -> int | None:
        refused = try_reserve(conn, ask)
        if refused is not None and not attempts:
            action()
        attempts.append(refused)
        return refused

    store._try_reserve = racing  # type: ignore[method-assign]
    return attempts


def test_a_refusal_that_met_calls_since_settled_is_retried(sql_url: str) -> None:
    gate, other = BudgetGate([TENANT, EVERYONE], sql_url), BudgetGate([TENANT], sql_url)
    in_flight = other.reserve(ACME, "d", Decimal("0.9"))
    assert isinstance(gate.store, SQLStore)
    attempts = _after_first_refusal(gate.store, lambda: other.settle(in_flight, Decimal("0.5")))
    reservation = gate.reserve(ACME, "d", Decimal("0.2"))
    assert attempts == [1, None]  # refused by the tenant account (position 1), then taken
    state = {s.budget: (s.spent_usd, s.reserved_usd) for s in gate.status(ACME)}
    assert state == {
        "everyone": (Decimal(0), Decimal("0.2")),
        "tenant": (Decimal("0.5"), Decimal("0.2")),
    }
    gate.release(reservation)


def test_a_refusal_that_stands_names_the_account_without_room(sql_url: str) -> None:
    gate, other = BudgetGate([TENANT, EVERYONE], sql_url), BudgetGate([TENANT], sql_url)
    other.settle(other.reserve(ACME, "d", Decimal("0.4")), Decimal("0.4"))
    in_flight = other.reserve(ACME, "d", Decimal("0.5"))
    assert isinstance(gate.store, SQLStore)
    # Another call takes the room freed by the settlement before the retry can.
    attempts = _after_first_refusal(
        gate.store,
        lambda: (other.settle(in_flight, Decimal("0.3")), other.reserve(ACME, "d", Decimal("0.2"))),
    )
    with pytest.raises(BudgetExhaustedError) as refused:
        gate.reserve(ACME, "d", Decimal("0.2"))
    assert attempts == [1]  # the second look saw no room: refused without another try
    error = refused.value
    assert (error.budget_name, error.spent_usd, error.reserved_usd) == (
        "tenant",
        Decimal("0.7"),
        Decimal("0.2"),
    )
