"""A settlement reaches the store even when its caller is cancelled again while it waits.

anyio's cancel scopes (Starlette and sse-starlette cancel a request's task group on a
client disconnect; ``anyio.move_on_after`` is a timeout) cancel the task at every await
until it leaves the scope, so the settlement a cancelled call still owes is cancelled
too, half-way through its round trip to a Redis or Postgres store.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import anyio
import pytest

from langchain_costrouter import Budget, ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.budgets import BudgetGate, CallContext
from langchain_costrouter.errors import BudgetSoftLimitWarning
from langchain_costrouter.ledger.memory import InMemoryLedger
from langchain_costrouter.testing import LocalOpenAIServer
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.services
ACME = CallContext("chat", {"tenant": "acme"})
TENANT = Budget(name="tenant", per="tenant", limit_usd=1, soft_threshold=0.5)


def _state(gate: BudgetGate) -> tuple[Decimal, Decimal]:
    (status,) = gate.status(ACME)
    return status.spent_usd, status.reserved_usd


async def _until(gate: BudgetGate, expected: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
    """The account once it shows ``expected``, or as it stands after a second."""
    deadline = time.monotonic() + 1.0
    while (seen := await asyncio.to_thread(_state, gate)) != expected:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    return seen


def test_a_settlement_cancelled_at_every_await_still_reaches_the_store(
    any_store_url: str,
) -> None:
    crossed: list[object] = []
    gate = BudgetGate([TENANT], any_store_url, on_soft_limit=crossed.append)

    async def settle_in_a_cancelled_scope() -> tuple[Decimal, Decimal]:
        reservation = await gate.areserve(ACME, "d", Decimal("0.8"))
        with anyio.CancelScope() as scope:
            scope.cancel()  # as a client disconnect does, while the call winds down
            await gate.asettle(reservation, Decimal("0.6"))
        return await _until(gate, (Decimal("0.6"), Decimal(0)))

    with pytest.warns(BudgetSoftLimitWarning, match="past its soft threshold"):
        assert asyncio.run(settle_in_a_cancelled_scope()) == (Decimal("0.6"), Decimal(0))
    assert len(crossed) == 1  # the soft threshold is still reported, once


def test_a_call_timed_out_by_anyio_gives_its_reservation_back_and_is_billed(
    shared_store_url: str, openai_server: LocalOpenAIServer
) -> None:
    openai_server.set_latency(2.0)
    ledger = InMemoryLedger()
    router = RoutedChatModel(
        routes={"chat": [openai_chat(openai_server, "m")]},
        prices=PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)}),
        budgets=[TENANT],
        budget_store=shared_store_url,
        ledger=ledger,
    )
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)

    async def call_with_a_timeout() -> tuple[Decimal, Decimal]:
        await gate.astatus(ACME)  # connected before the call, so the timeout hits the call
        with anyio.move_on_after(0.3):
            await router.ainvoke("Hello there", config={"metadata": {"tenant": "acme"}})
        billed = sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))
        assert billed > 0  # the prompt the provider received
        return await _until(gate, (billed, Decimal(0)))

    spent, reserved = asyncio.run(call_with_a_timeout())
    assert reserved == 0  # not held until the lease runs out (10 minutes)
    assert spent == sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))
