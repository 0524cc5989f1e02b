"""A reservation holds the prompt as the provider bills it: the tools and the response
format sent with the messages count, so a capped call never settles above its
reservation and concurrent calls cannot pass a budget together.

The real ``ChatOpenAI`` talks to the local server, which counts prompt tokens as OpenAI
does: the messages, then the tools' and the response format's JSON.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from langchain_costrouter import Budget, ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.errors import BudgetExhaustedError
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

LIMIT = Decimal("0.01")
PRICES = PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)})


def _tool(index: int) -> dict[str, Any]:
    """A tool of a few hundred tokens, as agents bind them by the dozen."""
    fields = {
        f"field_{j}": {"type": "string", "description": "a filter on the account's attribute"}
        for j in range(8)
    }
    return {
        "type": "function",
        "function": {
            "name": f"lookup_{index}",
            "description": "Look up the records of a customer account by many criteria. " * 5,
            "parameters": {"type": "object", "properties": fields},
        },
    }


class Account(BaseModel):
    """A customer account's facts."""

    name: str = Field(description="The account holder's full legal name, as registered. " * 20)
    balance: float = Field(description="The account's balance in dollars, at today's close. " * 20)


def _router(server: LocalOpenAIServer) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"chat": [openai_chat(server, "m")]},
        prices=PRICES,
        budgets=[Budget(name="everyone", limit_usd=LIMIT, soft_threshold=None)],
    )


def _spent(router: RoutedChatModel) -> Decimal:
    (status,) = router._current().stages.cascade.budgets.gate.status(CallContext("chat"))
    assert status.reserved_usd == 0
    return status.spent_usd


def _until_refused(runnable: Any, max_tokens: int = 10) -> int:
    calls = 0
    while True:
        try:
            runnable.invoke("Find the account of Ada.", max_tokens=max_tokens)
        except BudgetExhaustedError:
            return calls
        calls += 1


def test_capped_calls_with_tools_never_pass_the_limit(openai_server: LocalOpenAIServer) -> None:
    openai_server.set_responder(lambda _: Reply("ok"))
    router = _router(openai_server)
    calls = _until_refused(router.bind_tools([_tool(i) for i in range(10)]))
    assert calls >= 2  # each call's ~2,800 prompt tokens cost $0.0028
    assert _spent(router) <= LIMIT


def test_concurrent_calls_with_tools_never_pass_the_limit_together(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.set_responder(lambda _: Reply("ok"))
    openai_server.set_latency(0.05)  # calls overlap, as a service's do
    router = _router(openai_server)
    bound = router.bind_tools([_tool(i) for i in range(10)])
    with ThreadPoolExecutor(8) as pool:
        calls = sum(pool.map(lambda _: _until_refused(bound), range(8)))
    assert calls >= 2
    assert _spent(router) <= LIMIT


def test_a_response_format_counts_too(openai_server: LocalOpenAIServer) -> None:
    openai_server.set_responder(lambda _: Reply('{"name": "Ada", "balance": 1.5}'))
    router = _router(openai_server)
    structured = router.with_structured_output(Account, method="json_schema")
    calls = _until_refused(structured, max_tokens=100)
    assert calls >= 2
    assert _spent(router) <= LIMIT
