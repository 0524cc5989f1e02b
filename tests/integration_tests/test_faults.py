"""Provider faults through the real ChatOpenAI client against two local providers.

The router is the only retry loop (children have ``max_retries=0``); it retries
transient faults, fails over to the other provider, escalates to the next tier, and
ends every request in an answer or a typed error, with each attempt in the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from langchain_costrouter import (
    CircuitBreakers,
    CostRouterError,
    Deployment,
    ProviderError,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.testing import (
    CONTEXT_LENGTH_EXCEEDED,
    Fault,
    FaultKind,
    LocalOpenAIServer,
    Reply,
)

# Every injected kind: rate limit with Retry-After, server errors, a hang past the client
# timeout, a body that is not JSON, a dropped connection (mid-stream when streaming) and a
# context-length 400, which escalates to the next tier instead of retrying.
ALL_FAULTS: tuple[FaultKind | Fault, ...] = (
    "429",
    "500",
    "503",
    "timeout",
    "malformed",
    "drop",
    Fault("400", code=CONTEXT_LENGTH_EXCEEDED),
)


def _deployment(server: LocalOpenAIServer, provider: str, model: str, timeout: float) -> Deployment:
    client = ChatOpenAI(
        model=model,
        base_url=server.base_url,
        api_key="test",
        max_retries=0,
        timeout=timeout,
        stream_usage=True,
        cache=False,
    )
    return Deployment(model=client, model_id=model, provider=provider)


def _router(
    a: LocalOpenAIServer, b: LocalOpenAIServer, timeout: float = 5.0, **kwargs: Any
) -> RoutedChatModel:
    route = Route(
        tiers=(
            Tier(
                deployments=(
                    _deployment(a, "provider-a", "gpt-4o-mini", timeout),
                    _deployment(b, "provider-b", "gpt-4o-mini", timeout),
                )
            ),
            Tier(deployments=(_deployment(a, "provider-a", "gpt-4o", timeout),)),
        )
    )
    return RoutedChatModel(
        routes={"chat": route},
        default_task="chat",
        ledger="memory://",
        retry=RetryPolicy(max_retries=2, backoff_base=0.005, backoff_cap=0.02),
        breakers=CircuitBreakers(failure_threshold=5, cooldown=0.05),
        **kwargs,
    )


def test_first_tier_provider_always_500_escalates(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("500")] * 3, model="gpt-4o-mini")
    second_openai_server.script([Fault("500")] * 3, model="gpt-4o-mini")
    openai_server.script([Reply("strong answer")], model="gpt-4o")
    message = _router(openai_server, second_openai_server).invoke("hello")
    attempts = message.response_metadata["costrouter"]["attempts"]
    assert message.content == "strong answer"
    assert [a["provider"] for a in attempts] == ["provider-a"] * 3 + ["provider-b"] * 3 + [
        "provider-a"
    ]
    assert [a["reason"] for a in attempts[:6]] == ["error: server"] * 6
    assert not any(a["accepted"] for a in attempts[:6])
    assert attempts[-1]["model"] == "gpt-4o" and attempts[-1]["accepted"] is True
    assert message.response_metadata["costrouter"]["escalated"] is True


def test_a_plain_400_reaches_the_caller_at_once_without_escalation(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("400", message="bad param")], model="gpt-4o-mini")
    openai_server.script([Reply("strong answer")], model="gpt-4o")
    with pytest.raises(ProviderError, match="bad param") as raised:
        _router(openai_server, second_openai_server).invoke("hello")
    assert (raised.value.kind, raised.value.retryable) == ("fatal", False)
    assert openai_server.request_count() == 1  # no retry, no failover, no escalation
    assert second_openai_server.request_count() == 0
    assert openai_server.pending_script_count("gpt-4o") == 1


def test_a_context_length_400_escalates_to_the_next_tier(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("400", code=CONTEXT_LENGTH_EXCEEDED)], model="gpt-4o-mini")
    openai_server.script([Reply("strong answer")], model="gpt-4o")
    message = _router(openai_server, second_openai_server).invoke("hello")
    record = message.response_metadata["costrouter"]
    assert message.content == "strong answer"
    assert record["escalated"] is True
    assert record["attempts"][0]["reason"] == "error: context_overflow"
    assert openai_server.request_count("gpt-4o-mini") == 1  # an overflow is never retried


def test_retry_after_is_honoured_within_the_cap(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("429", retry_after=0.3), Reply("after wait")], model="gpt-4o-mini")
    router = _router(
        openai_server,
        second_openai_server,
    ).model_copy(update={"retry": RetryPolicy(max_retries=2, backoff_cap=1.0)})
    started = time.perf_counter()
    message = router.invoke("hello")
    assert message.content == "after wait"
    assert time.perf_counter() - started >= 0.3


def test_thousand_requests_with_thirty_percent_faults(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    openai_server.set_fault_rate(0.3, kinds=ALL_FAULTS, seed=1)
    second_openai_server.set_fault_rate(0.3, kinds=ALL_FAULTS, seed=2)
    # A short client timeout: injected "timeout" faults hang until the client gives up.
    router = _router(openai_server, second_openai_server, timeout=1.0)
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        invoked = pool.map(_outcome(router.invoke), [f"question {i}" for i in range(750)])
        streamed = pool.map(_outcome(_streamed(router)), [f"stream {i}" for i in range(250)])
        results = list(invoked) + list(streamed)
    elapsed = time.perf_counter() - started
    answers = [r for r in results if isinstance(r, AIMessage)]
    errors = [r for r in results if not isinstance(r, AIMessage)]
    print(
        f"\n1000 requests (250 streamed), 30% faults: {len(answers)} answers, "
        f"{len(errors)} typed errors ({sorted({type(e).__name__ for e in errors})}), "
        f"{elapsed:.1f}s"
    )
    assert len(results) == 1000
    assert all(isinstance(e, CostRouterError) for e in errors), {type(e) for e in errors}
    assert len(answers) >= 900
    ledger = router.ledger_store
    ledger.flush()
    rows = ledger.rows()
    answered_runs = {m.response_metadata["costrouter"]["run_id"] for m in answers}
    assert len(answered_runs) == len(answers)
    for message in answers:
        record = message.response_metadata["costrouter"]
        mine = [r for r in rows if r.run_id == record["run_id"]]
        assert len(mine) == len(record["attempts"])
    assert sum(1 for r in rows if r.accepted) == len(answers)
    assert elapsed < 120


def _outcome(call: Callable[[str], AIMessage]) -> Callable[[str], AIMessage | Exception]:
    def run(prompt: str) -> AIMessage | Exception:
        try:
            return call(prompt)
        except CostRouterError as error:
            return error

    return run


def _streamed(router: RoutedChatModel) -> Callable[[str], AIMessage]:
    def stream(prompt: str) -> AIMessage:
        chunks = list(router.stream(prompt))
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged = merged + chunk
        return AIMessage(content=merged.content, response_metadata=merged.response_metadata)

    return stream


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_streams_survive_faults_before_the_first_chunk(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer, method: str
) -> None:
    openai_server.script([Fault("503"), Fault("malformed")], model="gpt-4o-mini")
    second_openai_server.script([Reply("streamed after failover")], model="gpt-4o-mini")
    router = _router(
        openai_server,
        second_openai_server,
    ).model_copy(update={"retry": RetryPolicy(max_retries=1, backoff_base=0.0)})
    if method == "stream":
        chunks = list(router.stream("hello"))
    else:
        chunks = [chunk async for chunk in router.astream("hello")]
    assert "".join(str(c.content) for c in chunks) == "streamed after failover"
    final = chunks[-1].response_metadata["costrouter"]
    assert [a["provider"] for a in final["attempts"]] == ["provider-a", "provider-a", "provider-b"]


@pytest.mark.parametrize("method", ["invoke", "stream"])
def test_an_error_object_in_a_200_fails_over_like_a_5xx(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer, method: str
) -> None:
    """Gateways (OpenRouter, LiteLLM proxies) answer 200 with ``{"error": {...}}`` when the
    provider behind them failed: ChatOpenAI raises a bare ValueError (a stream: openai's
    APIError), which the router took for a bug in the caller's code and re-raised, with
    no retry and no failover."""
    openai_server.script([Fault("error_body")] * 3, model="gpt-4o-mini")
    second_openai_server.script([Reply("from provider b")], model="gpt-4o-mini")
    router = _router(openai_server, second_openai_server)
    if method == "invoke":
        message = router.invoke("hello")
        record = message.response_metadata["costrouter"]
        content = message.content
    else:
        chunks = list(router.stream("hello"))
        record = chunks[-1].response_metadata["costrouter"]
        content = "".join(str(c.content) for c in chunks)
    assert content == "from provider b"
    assert [a["provider"] for a in record["attempts"]] == ["provider-a"] * 3 + ["provider-b"]
    assert [a["reason"] for a in record["attempts"][:3]] == ["error: server"] * 3


def test_an_error_object_in_a_200_saying_bad_request_is_not_retried(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    bad_request = Fault("error_body", code="400", message="bad param")
    openai_server.script([bad_request], model="gpt-4o-mini")
    with pytest.raises(ProviderError, match="bad param") as raised:
        _router(openai_server, second_openai_server).invoke("hello")
    assert (raised.value.kind, raised.value.retryable) == ("fatal", False)
    assert openai_server.request_count() == 1
    assert second_openai_server.request_count() == 0
