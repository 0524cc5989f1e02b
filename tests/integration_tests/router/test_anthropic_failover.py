"""Failover from the real ChatAnthropic, and what its failed attempts cost.

Anthropic reports a failure once its stream has begun as an ``error`` event inside the
HTTP 200 (``overloaded_error`` routinely, often as the stream's first event); the anthropic
SDK raises it as ``APIStatusError`` with status 200, which langchain-anthropic passes on.
The router reads what the event stands for (an overload: 529) and fails over to the next
deployment, here a ChatOpenAI on the local OpenAI server, as it does for an HTTP 529. The
failed attempt had been accepted, so it is billed on its prompt, or on what it streamed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter import (
    CircuitBreakers,
    Deployment,
    ModelPrice,
    PriceTable,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.ledger import LedgerRow
from langchain_costrouter.testing import (
    AnthropicErrorEvent,
    AnthropicHTTPError,
    LocalAnthropicServer,
    LocalOpenAIServer,
    Reply,
)
from langchain_costrouter.tokens import count_answer, count_messages
from tests.server_fixtures import anthropic_chat, openai_chat

PROMPT = "Tell me something about the sea"
CLAUDE = "claude-haiku-4-5"
CLAUDE_INPUT, CLAUDE_OUTPUT = Decimal(1) / 1_000_000, Decimal(5) / 1_000_000
PRICES = PriceTable(
    {
        CLAUDE: ModelPrice(input_per_mtok=1, output_per_mtok=5),
        "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.6),
    }
)
FROM_OPENAI = Reply("from openai", prompt_tokens=9, completion_tokens=3)
SALTY = Reply("The sea is salty and deep.")
METHODS = ["invoke", "ainvoke", "stream", "astream"]


def _router(
    anthropic: LocalAnthropicServer, openai: LocalOpenAIServer, tmp_path: Path, **options: Any
) -> RoutedChatModel:
    """One unchecked (live) tier: ChatAnthropic first (streaming every call, so that an
    invoke reads its stream too), failing over to ChatOpenAI."""
    tier = Tier.of(
        [
            Deployment(anthropic_chat(anthropic, CLAUDE, streaming=True), CLAUDE, "anthropic"),
            Deployment(openai_chat(openai, "gpt-4o-mini"), "gpt-4o-mini", "openai"),
        ]
    )
    return RoutedChatModel(
        routes={"chat": Route(tiers=(tier,))},
        default_task="chat",
        retry=RetryPolicy(max_retries=0),
        breakers=CircuitBreakers(),  # this module's own: other tests' failures open none
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        **{"prices": PRICES, **options},
    )


async def _called(router: RoutedChatModel, method: str) -> str:
    """The answer's text, invoked or streamed."""
    if method == "invoke":
        return str(router.invoke(PROMPT).content)
    if method == "ainvoke":
        return str((await router.ainvoke(PROMPT)).content)
    shown: list[str] = []
    await _read(router, method, shown)
    return "".join(shown)


def _rows(router: RoutedChatModel) -> list[LedgerRow]:
    ledger = router.ledger_store
    ledger.flush()
    rows: list[LedgerRow] = ledger.rows()
    return rows


def _prompt_estimate() -> int:
    return count_messages([HumanMessage(PROMPT)])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("after_events", [0, 1], ids=["first", "after-message-start"])
async def test_an_overloaded_event_before_any_text_fails_over(
    anthropic_server: LocalAnthropicServer,
    openai_server: LocalOpenAIServer,
    tmp_path: Path,
    method: str,
    after_events: int,
) -> None:
    """The overload as the stream's first event, or right after ``message_start``: no text
    reached the caller, so the router fails over (it raised a fatal ProviderError
    before). The attempt is a server fault with the status the event stands for, billed
    once on an estimate of its prompt (langchain-anthropic passes on no usage before
    ``message_delta``)."""
    anthropic_server.script([AnthropicErrorEvent(after_events=after_events, reply=SALTY)])
    openai_server.script([FROM_OPENAI])
    router = _router(anthropic_server, openai_server, tmp_path)
    assert await _called(router, method) == "from openai"
    failed, answered = _rows(router)
    assert (failed.model, failed.reason, failed.error, failed.status_code) == (
        CLAUDE,
        "error: server",
        "APIStatusError",
        529,
    )
    estimate = _prompt_estimate()
    assert (failed.input_tokens, failed.output_tokens, failed.usage_estimated) == (
        estimate,
        0,
        True,
    )
    assert failed.cost_usd == estimate * CLAUDE_INPUT
    assert (answered.model, answered.reason, answered.input_tokens) == (
        "gpt-4o-mini",
        "accepted",
        9,
    )
    assert anthropic_server.request_count() == openai_server.request_count() == 1
    router.close()


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_an_overloaded_event_after_text_cuts_the_stream_billed_on_what_it_sent(
    anthropic_server: LocalAnthropicServer,
    openai_server: LocalOpenAIServer,
    tmp_path: Path,
    method: str,
) -> None:
    """Two words reached the caller, then the overload: the stream is cut as any broken
    stream is (no failover, which would repeat text), and the attempt is billed once on
    the prompt and the words it streamed."""
    anthropic_server.script([AnthropicErrorEvent(after_events=4, reply=SALTY)])
    router = _router(anthropic_server, openai_server, tmp_path)
    shown: list[str] = []
    with pytest.raises(ProviderError) as raised:
        await _read(router, method, shown)
    assert (raised.value.kind, raised.value.retryable) == ("stream_cut", True)
    assert "".join(shown) == "The sea "
    (cut,) = _rows(router)
    assert (cut.model, cut.reason, cut.error, cut.status_code) == (
        CLAUDE,
        "error: stream cut",
        "APIStatusError",
        529,
    )
    estimate, words = _prompt_estimate(), count_answer(AIMessage("The sea "))
    assert (cut.input_tokens, cut.output_tokens, cut.usage_estimated) == (estimate, words, True)
    assert cut.cost_usd == estimate * CLAUDE_INPUT + words * CLAUDE_OUTPUT
    assert openai_server.request_count() == 0
    router.close()


async def _read(router: RoutedChatModel, method: str, shown: list[str]) -> None:
    """Stream the prompt, keeping each chunk's text in ``shown`` as it arrives."""
    if method == "stream":
        for chunk in router.stream(PROMPT):
            shown.append(str(chunk.content))
    else:
        async for achunk in router.astream(PROMPT):
            shown.append(str(achunk.content))


@pytest.mark.parametrize("method", ["invoke", "ainvoke"])
async def test_an_overloaded_event_after_text_of_an_invoke_fails_over(
    anthropic_server: LocalAnthropicServer,
    openai_server: LocalOpenAIServer,
    tmp_path: Path,
    method: str,
) -> None:
    """Invoked, the child's stream is read whole before anything is shown: the router fails
    over, and bills the broken attempt on the words it had sent."""
    anthropic_server.script([AnthropicErrorEvent(after_events=4, reply=SALTY)])
    openai_server.script([FROM_OPENAI])
    router = _router(anthropic_server, openai_server, tmp_path)
    assert await _called(router, method) == "from openai"
    failed, answered = _rows(router)
    assert (failed.reason, failed.error, failed.status_code) == (
        "error: server",
        "APIStatusError",
        529,
    )
    estimate, words = _prompt_estimate(), count_answer(AIMessage("The sea "))
    assert (failed.input_tokens, failed.output_tokens, failed.usage_estimated) == (
        estimate,
        words,
        True,
    )
    assert failed.cost_usd == estimate * CLAUDE_INPUT + words * CLAUDE_OUTPUT
    assert (answered.model, answered.reason) == ("gpt-4o-mini", "accepted")
    router.close()


@pytest.mark.parametrize("method", METHODS)
async def test_an_http_529_fails_over_billed_nothing(
    anthropic_server: LocalAnthropicServer,
    openai_server: LocalOpenAIServer,
    tmp_path: Path,
    method: str,
) -> None:
    """An overload refused with the status before any event: failover at $0, priced by
    the default price table (genai-prices knows claude-haiku-4-5)."""
    anthropic_server.script([AnthropicHTTPError(529)])
    openai_server.script([FROM_OPENAI])
    router = _router(anthropic_server, openai_server, tmp_path, prices=None)
    assert await _called(router, method) == "from openai"
    refused, answered = _rows(router)
    assert (refused.model, refused.reason, refused.error, refused.status_code) == (
        CLAUDE,
        "error: server",
        "AnthropicOverloadedError",
        529,
    )
    assert (refused.cost_usd, refused.input_tokens, refused.usage_estimated) == (0, 0, False)
    assert (answered.model, answered.reason) == ("gpt-4o-mini", "accepted")
    assert answered.cost_usd is not None and answered.cost_usd > 0
    router.close()


@pytest.mark.parametrize("method", ["invoke", "stream"])
async def test_an_invalid_request_event_is_fatal(
    anthropic_server: LocalAnthropicServer,
    openai_server: LocalOpenAIServer,
    tmp_path: Path,
    method: str,
) -> None:
    """A request the provider refused, reported inside the 200: no failover (another
    provider would refuse it too), $0, and the caller is told what to fix."""
    refusal = AnthropicErrorEvent("invalid_request_error", "max_tokens: too large")
    anthropic_server.script([refusal])
    router = _router(anthropic_server, openai_server, tmp_path)
    with pytest.raises(ProviderError, match="max_tokens: too large") as raised:
        await _called(router, method)
    assert (raised.value.kind, raised.value.retryable) == ("fatal", False)
    (row,) = _rows(router)
    assert (row.reason, row.error, row.status_code) == ("error: fatal", "APIStatusError", 400)
    assert (row.cost_usd, row.input_tokens, row.usage_estimated) == (0, 0, False)
    assert openai_server.request_count() == 0
    router.close()


def test_claude_is_in_the_default_price_table(
    anthropic_server: LocalAnthropicServer, openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    anthropic_server.script([Reply("Salty.", prompt_tokens=1000, completion_tokens=100)])
    router = _router(anthropic_server, openai_server, tmp_path, prices=None)
    assert router.invoke(PROMPT).content == "Salty."
    (row,) = _rows(router)
    assert (row.model, row.price_source, row.input_tokens) == (CLAUDE, "price_map", 1000)
    assert row.cost_usd is not None and row.cost_usd > 0
    router.close()
