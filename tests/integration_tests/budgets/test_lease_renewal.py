"""A call longer than its lease keeps holding its reservation: the gate renews the lease
while the call runs (`BudgetGate.keep`), on every store, so other machines cannot spend
the worst case of a call still under way; a process that dies stops renewing, and its
reservation is freed a lease later, as before."""

from __future__ import annotations

import asyncio
import time
import warnings
from decimal import Decimal

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
from langchain_costrouter.errors import BudgetExhaustedError
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

pytestmark = [
    pytest.mark.services,
    pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.BudgetSoftLimitWarning"),
]
ACME = CallContext("chat", {"tenant": "acme"})
TENANT = Budget(name="tenant", per="tenant", limit_usd=1)
EVERYONE = Budget(name="everyone", limit_usd=10, per=None, period=None)


def reserved(gate: BudgetGate) -> dict[str, Decimal]:
    return {s.budget: s.reserved_usd for s in gate.status(ACME)}


@pytest.mark.parametrize("budgets", [[TENANT], [TENANT, EVERYONE]], ids=["one", "two"])
def test_a_kept_reservation_outlives_its_lease_until_it_is_settled(
    any_store_url: str, budgets: list[Budget]
) -> None:
    gate = BudgetGate(budgets, any_store_url, lease_seconds=0.6)
    shared = gate.store if any_store_url == "memory://" else any_store_url
    other = BudgetGate(budgets, shared, lease_seconds=0.6)  # another machine's
    long_call = gate.reserve(ACME, "d", Decimal("0.9"))
    gate.keep(long_call)
    time.sleep(1.5)  # two and a half leases
    assert reserved(other)["tenant"] == Decimal("0.9")
    with pytest.raises(BudgetExhaustedError):
        other.reserve(ACME, "d", Decimal("0.5"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no BudgetLeaseExpiredWarning: it never ran out
        gate.settle(long_call, Decimal("0.4"))
    assert reserved(other) == {budget.name: Decimal(0) for budget in budgets}
    time.sleep(0.5)  # a renewal after the settlement would hold it again
    assert reserved(other)["tenant"] == Decimal(0)
    other.reserve(ACME, "d", Decimal("0.6"))  # exactly the room left
    other.close()
    gate.close()


def test_an_awaited_kept_reservation_outlives_its_lease(any_store_url: str) -> None:
    gate = BudgetGate([TENANT], any_store_url, lease_seconds=0.6)

    async def call() -> None:
        held = await gate.areserve(ACME, "d", Decimal("0.9"))
        gate.keep(held)
        await asyncio.sleep(1.5)
        assert (await gate.astatus(ACME))[0].reserved_usd == Decimal("0.9")
        await gate.asettle(held, Decimal("0.1"))

    asyncio.run(call())
    assert reserved(gate)["tenant"] == Decimal(0)
    gate.close()


def test_a_reservation_dropped_without_settlement_is_no_longer_renewed(
    any_store_url: str,
) -> None:
    gate = BudgetGate([TENANT], any_store_url, lease_seconds=0.4)
    gate.keep(gate.reserve(ACME, "d", Decimal("0.9")))  # nobody holds it any more
    time.sleep(1.0)
    assert reserved(gate)["tenant"] == Decimal(0)
    gate.close()


def test_a_stream_longer_than_its_lease_holds_its_reservation(
    openai_server: LocalOpenAIServer, any_store_url: str
) -> None:
    """The router keeps the reservation of its attempt while the stream runs: another
    process's gate on the same store sees it held all along."""
    openai_server.set_responder(lambda _: Reply("word " * 20, prompt_tokens=10))
    openai_server.set_latency(0.0, per_chunk=0.1)  # a 2-second stream
    router = RoutedChatModel(
        routes={"chat": [openai_chat(openai_server, "m")]},
        prices=PriceTable({"m": ModelPrice(input_per_mtok=1000, output_per_mtok=1000)}),
        budgets=[Budget(name="everyone", limit_usd=1, per=None, soft_threshold=None)],
        budget_store=any_store_url,
        budget_lease_seconds=0.6,
    )
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    seen = []
    for _ in router.stream("hello", max_tokens=100):
        seen.append(gate.status(CallContext("chat"))[0].reserved_usd)
    assert len(seen) > 15 and min(seen[:-1]) > 0  # held from the first chunk to the last
    assert gate.status(CallContext("chat"))[0].reserved_usd == 0
