"""A routed async stream closed early, alone or inside a chain (real ChatOpenAI, real stores).

`router/_closing.py` closes LangChain's stream and the router's driver as soon as the
caller closes the router's stream. Inside a chain nobody closes it: LangChain leaves
every step's stream to the event loop, which closes them all at once as ``asyncio.run``
ends, and the router's own closing then ran into the loop's (``aclose(): asynchronous
generator is already running``, logged as an error of the loop).
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing, closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_costrouter import Budget, ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat


def _router(server: LocalOpenAIServer, tmp_path: Path) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"chat": [openai_chat(server, "m")]},
        default_task="chat",
        prices=PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)}),
        budgets=[Budget(name="all", limit_usd=1, soft_threshold=None)],
        cache=f"diskcache://{tmp_path / 'cache'}",
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    )


def _budget(router: RoutedChatModel) -> tuple[Decimal, Decimal]:
    gate = router._current().stages.cascade.budgets.gate
    (status,) = gate.status(CallContext("chat", {}))
    return status.spent_usd, status.reserved_usd


@pytest.mark.parametrize("runnable", ["router", "chain"])
def test_a_stream_closed_early_as_asyncio_run_ends_is_settled_without_loop_errors(
    openai_server: LocalOpenAIServer, tmp_path: Path, runnable: str
) -> None:
    openai_server.set_latency(0, per_chunk=0.01)
    openai_server.script([Reply("a long answer " * 50, prompt_tokens=10)])
    router = _router(openai_server, tmp_path)
    prompt = ChatPromptTemplate.from_messages([("user", "{question}")])
    chain = prompt | router | StrOutputParser()
    loop_errors: list[dict[str, Any]] = []

    async def read_three_chunks() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, error: loop_errors.append(error))
        stream = (
            router.astream("Tell me a story")
            if runnable == "router"
            else chain.astream({"question": "Tell me a story"})
        )
        async with aclosing(stream) as chunks:  # type: ignore[type-var]
            async for index, _ in _numbered(chunks):
                if index == 2:
                    break

    asyncio.run(read_three_chunks())
    assert [error["message"] for error in loop_errors] == []
    ledger = router.ledger_store
    ledger.flush()
    [row] = ledger.rows()
    assert row.reason == "cancelled (GeneratorExit)"
    assert row.cost_usd is not None and row.cost_usd > 0
    assert _budget(router) == (row.cost_usd, Decimal(0))


async def _numbered(stream: Any) -> Any:
    index = 0
    async for chunk in stream:
        yield index, chunk
        index += 1


def test_a_sync_chain_closed_early_reads_the_routed_stream_to_its_end(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    """docs/architecture.md, LangChain fact 11: the parser after the model drains its
    input as a sync chain's stream is closed, so the routed call is answered, billed and
    cached whole."""
    openai_server.script([Reply("a long answer " * 50, prompt_tokens=10, completion_tokens=150)])
    router = _router(openai_server, tmp_path)
    prompt = ChatPromptTemplate.from_messages([("user", "{question}")])
    chain = prompt | router | StrOutputParser()
    with closing(chain.stream({"question": "Tell me a story"})) as stream:  # type: ignore[type-var]
        for index, _ in enumerate(stream):
            if index == 2:
                break
    ledger = router.ledger_store
    ledger.flush()
    [row] = ledger.rows()
    assert (row.reason, row.output_tokens) == ("accepted", 150)
    assert _budget(router) == (row.cost_usd, Decimal(0))
    again = router.invoke("Tell me a story")
    assert again.response_metadata["costrouter"]["cache_hit"] is True
