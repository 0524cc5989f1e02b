"""A streamed call draws on the budgets of the tenant its config names, as an invoked one.

LangChain hands ``_stream`` and ``_astream`` no run manager, so the run's metadata never
reached the router: every stream was counted in the ``tenant=<none>`` account that
calls without a tenant share, a tenant whose budget was spent kept streaming, and
every tenant's streams drained the shared account.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.errors import BudgetExhaustedError
from tests.integration_tests.budgets.workers import ANSWER_COST, PROMPT, budget_router

ACME = {"metadata": {"tenant": "acme"}}


def _spent(router: RoutedChatModel, tenant: str | None) -> Any:
    metadata = {} if tenant is None else {"tenant": tenant}
    gate = router._current().stages.cascade.budgets.gate
    (status,) = gate.status(CallContext("chat", metadata))
    return status.spent_usd


def _stream(runnable: Any, config: dict[str, Any], **kwargs: Any) -> None:
    for _ in runnable.stream(PROMPT, config=config, **kwargs):
        pass


def _astream(runnable: Any, config: dict[str, Any], **kwargs: Any) -> None:
    async def read() -> None:
        async for _ in runnable.astream(PROMPT, config=config, **kwargs):
            pass

    asyncio.run(read())


STREAMS = {"stream": _stream, "astream": _astream}


@pytest.mark.parametrize("entry", sorted(STREAMS))
def test_a_stream_draws_on_the_tenant_its_config_names(entry: str) -> None:
    router = budget_router("memory://")
    STREAMS[entry](router, ACME, max_tokens=100)
    assert _spent(router, "acme") == ANSWER_COST
    assert _spent(router, None) == 0


@pytest.mark.parametrize("entry", sorted(STREAMS))
def test_a_chain_streaming_through_the_router_draws_on_its_tenant(entry: str) -> None:
    router = budget_router("memory://")
    chain = RunnableLambda(lambda text: text) | router.bind(max_tokens=100)
    STREAMS[entry](chain, ACME)
    assert _spent(router, "acme") == ANSWER_COST


@pytest.mark.parametrize("entry", sorted(STREAMS))
def test_a_tenant_whose_budget_is_spent_cannot_stream_on(entry: str) -> None:
    router = budget_router("memory://")
    while True:
        try:
            router.invoke(PROMPT, max_tokens=100, config=ACME)
        except BudgetExhaustedError:
            break
    with pytest.raises(BudgetExhaustedError, match="tenant=acme"):
        STREAMS[entry](router, ACME, max_tokens=100)
