"""What a live stream that fails costs, in the ledger and on the budget (real ChatOpenAI).

A provider that refused the request with an HTTP error status before streaming billed
nothing. One that accepted it (HTTP 200 and a chunk, even OpenAI's role-only opening
chunk) processed the prompt and bills it, though the router fails over when no text
reached the caller; it is billed on its prompt as a call cut in flight is
(`_record.Recorder.fail`), or on the usage it streamed before breaking. So is one whose
HTTP 200 carried only an error event (``data: {"error": ...}``) before any chunk.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_costrouter import (
    Budget,
    CircuitBreakers,
    Deployment,
    ModelPrice,
    PriceTable,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.budgets import BudgetGate, CallContext
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.ledger import LedgerRow
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from langchain_costrouter.tokens import count_messages
from tests.server_fixtures import openai_chat

PROMPT = "Tell me something about the sea"
MINI_INPUT = Decimal("0.15") / 1_000_000
PRICES = PriceTable(
    {
        "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.6),
        "gpt-4o": ModelPrice(input_per_mtok=2.5, output_per_mtok=10),
    }
)


def _router(server: LocalOpenAIServer, tmp_path: Path, **child: Any) -> RoutedChatModel:
    """One unchecked (live) tier: gpt-4o-mini on provider a, failing over to provider b,
    under a budget; ``child`` goes to both ChatOpenAI children (``streaming=True``)."""
    tier = Tier.of(
        [
            Deployment(openai_chat(server, "gpt-4o-mini", **child), "gpt-4o-mini", "provider-a"),
            Deployment(openai_chat(server, "gpt-4o", **child), "gpt-4o", "provider-b"),
        ]
    )
    return RoutedChatModel(
        routes={"chat": Route(tiers=(tier,))},
        default_task="chat",
        prices=PRICES,
        retry=RetryPolicy(max_retries=0),
        breakers=CircuitBreakers(),  # this module's own: other tests' failures open none
        budgets=[Budget(name="all", limit_usd=1)],
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    )


async def _streamed(router: RoutedChatModel, method: str) -> list[AIMessageChunk]:
    if method == "stream":
        return list(router.stream(PROMPT))
    return [chunk async for chunk in router.astream(PROMPT)]


async def _answered(router: RoutedChatModel, method: str) -> str:
    """The text of the answer, streamed or (with streaming children) invoked."""
    if method in ("stream", "astream"):
        return "".join(str(chunk.content) for chunk in await _streamed(router, method))
    message = router.invoke(PROMPT) if method == "invoke" else await router.ainvoke(PROMPT)
    return str(message.content)


def _rows(router: RoutedChatModel) -> list[LedgerRow]:
    ledger = router.ledger_store
    ledger.flush()
    rows: list[LedgerRow] = ledger.rows()
    return rows


def _spent(router: RoutedChatModel) -> tuple[Decimal, Decimal]:
    """The budget's spent and still reserved dollars."""
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    (status,) = gate.status(CallContext("chat", {}))
    return status.spent_usd, status.reserved_usd


def _billed(rows: list[LedgerRow]) -> Decimal:
    return sum((row.cost_usd or Decimal(0) for row in rows), Decimal(0))


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_stream_refused_with_an_http_error_is_billed_nothing(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    openai_server.script([Fault("500")], model="gpt-4o-mini")
    openai_server.script([Reply("from provider b", prompt_tokens=9, completion_tokens=3)])
    router = _router(openai_server, tmp_path)
    await _streamed(router, method)
    refused, answered = _rows(router)
    assert (refused.model, refused.reason, refused.error) == (
        "gpt-4o-mini",
        "error: server",
        "OpenAIAPIError",
    )
    assert refused.cost_usd == 0
    assert (refused.input_tokens, refused.usage_estimated) == (0, False)
    assert (answered.model, answered.reason, answered.input_tokens) == ("gpt-4o", "accepted", 9)
    assert _spent(router) == (_billed([refused, answered]), Decimal(0))
    router.close()


@pytest.mark.parametrize("method", ["stream", "astream", "invoke", "ainvoke"])
async def test_a_stream_broken_after_its_opening_chunk_is_billed_on_its_prompt(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    """HTTP 200 and the role chunk: the provider took the prompt. The router fails over
    (no text reached the caller) and bills the broken attempt on an estimate of its
    prompt, flagged as estimated like a cut call; it recorded it at $0 before. Invoked,
    children that stream every call (``streaming=True``) are billed alike."""
    openai_server.script([Fault("drop", after_chunks=0)], model="gpt-4o-mini")
    openai_server.script([Reply("from provider b", prompt_tokens=9, completion_tokens=3)])
    router = _router(openai_server, tmp_path, streaming=True)
    assert await _answered(router, method) == "from provider b"
    broken, answered = _rows(router)
    assert (broken.model, broken.reason, broken.error) == (
        "gpt-4o-mini",
        "error: connection",
        "OpenAIConnectionError",
    )
    estimate = count_messages([HumanMessage(PROMPT)])
    assert broken.input_tokens == estimate >= openai_server.prompt_tokens_total("gpt-4o-mini")
    assert (broken.output_tokens, broken.usage_estimated) == (0, True)
    assert broken.cost_usd == estimate * MINI_INPUT
    assert (answered.model, answered.reason) == ("gpt-4o", "accepted")
    assert _spent(router) == (_billed([broken, answered]), Decimal(0))
    router.close()


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_stream_broken_after_its_usage_is_billed_on_that_usage(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    """An empty answer's role, finish and usage chunks, then the connection broke before
    the end of the stream: the usage the provider reported is what it billed."""
    empty = Reply("", finish_reason="content_filter", prompt_tokens=40, completion_tokens=0)
    openai_server.script([Fault("drop", after_chunks=2, reply=empty)], model="gpt-4o-mini")
    openai_server.script([Reply("from provider b", prompt_tokens=9, completion_tokens=3)])
    router = _router(openai_server, tmp_path)
    await _streamed(router, method)
    broken, answered = _rows(router)
    assert (broken.model, broken.reason) == ("gpt-4o-mini", "error: connection")
    assert (broken.input_tokens, broken.output_tokens, broken.usage_estimated) == (40, 0, False)
    assert broken.cost_usd == 40 * MINI_INPUT
    assert _spent(router) == (_billed([broken, answered]), Decimal(0))
    router.close()


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_stream_broken_after_text_is_billed_on_what_it_delivered(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    openai_server.script([Fault("drop", after_chunks=1)], model="gpt-4o-mini")
    router = _router(openai_server, tmp_path)
    with pytest.raises(ProviderError) as raised:
        await _streamed(router, method)
    assert raised.value.kind == "stream_cut"
    (cut,) = _rows(router)
    assert (cut.model, cut.reason, cut.error) == (
        "gpt-4o-mini",
        "error: stream cut",
        "OpenAIConnectionError",
    )
    estimate = count_messages([HumanMessage(PROMPT)])
    assert (cut.input_tokens, cut.usage_estimated) == (estimate, True)
    assert cut.output_tokens > 0
    assert cut.cost_usd is not None and cut.cost_usd > estimate * MINI_INPUT
    assert _spent(router) == (cut.cost_usd, Decimal(0))
    router.close()


@pytest.mark.parametrize("method", ["stream", "astream", "invoke", "ainvoke"])
async def test_a_stream_that_sent_only_an_error_event_is_billed_on_its_prompt(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    """HTTP 200, then ``data: {"error": ...}`` as the stream's only event, as
    OpenAI-compatible servers and gateways report a failure once the stream has begun:
    the provider had taken the prompt. The router fails over, as for a 5xx, and bills the
    attempt on an estimate of its prompt; it recorded it at $0 before. Invoked, the
    children stream too (``streaming=True``), so the same event ends the call."""
    openai_server.script([Fault("error_body", message="model overloaded")], model="gpt-4o-mini")
    openai_server.script([Reply("from provider b", prompt_tokens=9, completion_tokens=3)])
    router = _router(openai_server, tmp_path, streaming=True)
    assert await _answered(router, method) == "from provider b"
    failed, answered = _rows(router)
    assert (failed.model, failed.reason, failed.error, failed.status_code) == (
        "gpt-4o-mini",
        "error: server",
        "APIError",
        502,
    )
    estimate = count_messages([HumanMessage(PROMPT)])
    assert (failed.input_tokens, failed.output_tokens, failed.usage_estimated) == (
        estimate,
        0,
        True,
    )
    assert failed.cost_usd == estimate * MINI_INPUT
    assert (answered.model, answered.reason, answered.input_tokens) == ("gpt-4o", "accepted", 9)
    assert _spent(router) == (_billed([failed, answered]), Decimal(0))
    router.close()


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_stream_whose_error_event_refuses_the_request_is_billed_nothing(
    openai_server: LocalOpenAIServer, tmp_path: Path, method: str
) -> None:
    """An error event with a 4xx code refuses the request, as that HTTP status would:
    $0, not retried, and the caller is told what to fix."""
    refused = Fault("error_body", code="400", message="Invalid value for 'temperature'.")
    openai_server.script([refused], model="gpt-4o-mini")
    router = _router(openai_server, tmp_path)
    with pytest.raises(ProviderError, match="temperature") as raised:
        await _streamed(router, method)
    assert (raised.value.kind, raised.value.retryable) == ("fatal", False)
    (row,) = _rows(router)
    assert (row.reason, row.error, row.status_code) == ("error: fatal", "APIError", 400)
    assert (row.cost_usd, row.input_tokens, row.usage_estimated) == (0, 0, False)
    assert _spent(router) == (Decimal(0), Decimal(0))
    assert openai_server.request_count() == 1
