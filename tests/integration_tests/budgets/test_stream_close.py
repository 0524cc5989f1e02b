"""An async stream the consumer stops reading is settled as the consumer closes it.

LangChain's ``astream`` never closes the router's own stream when its caller closes it;
the event loop's finaliser did, later, in a task of its own, and ``asyncio.run``
cancels such tasks as it ends: a script that stopped reading a stream held its
worst case on the budget for the lease (10 minutes) and never counted what the
provider billed for the chunks it had read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from decimal import Decimal
from typing import Any, cast

import pytest

from langchain_costrouter import Budget, ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.budgets import BudgetGate, CallContext
from langchain_costrouter.ledger.memory import InMemoryLedger
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.services
ACME = CallContext("chat", {"tenant": "acme"})


def _router(server: LocalOpenAIServer, store: str, ledger: InMemoryLedger) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"chat": [openai_chat(server, "m")]},
        prices=PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)}),
        budgets=[Budget(name="tenant", per="tenant", limit_usd=1, soft_threshold=None)],
        budget_store=store,
        ledger=ledger,
    )


def _state(router: RoutedChatModel) -> tuple[Decimal, Decimal]:
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    (status,) = gate.status(ACME)
    return status.spent_usd, status.reserved_usd


def _billed(ledger: InMemoryLedger) -> Decimal:
    return sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))


@pytest.mark.parametrize("closing", ["aclose", "asyncio.run ends"])
def test_a_stream_closed_after_a_few_chunks_is_settled_to_what_it_billed(
    any_store_url: str, openai_server: LocalOpenAIServer, closing: str
) -> None:
    openai_server.script([Reply("a long answer " * 50)], model="m")
    ledger = InMemoryLedger()
    router = _router(openai_server, any_store_url, ledger)
    seen: list[tuple[Decimal, Decimal]] = []

    async def read_three_chunks() -> None:
        stream = router.astream("Tell me a story", config={"metadata": {"tenant": "acme"}})
        async for index, _ in _numbered(stream):
            if index == 2:
                break
        if closing == "aclose":
            await cast(AsyncGenerator[Any, None], stream).aclose()
            seen.append(await asyncio.to_thread(_state, router))

    asyncio.run(read_three_chunks())
    assert _billed(ledger) > 0
    assert (seen or [_state(router)])[0] == (_billed(ledger), Decimal(0))


async def _numbered(stream: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    index = 0
    async for chunk in stream:
        yield index, chunk
        index += 1
