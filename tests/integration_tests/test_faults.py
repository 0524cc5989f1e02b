"""Provider faults through the real ChatOpenAI client against two local providers.

The router is the only retry loop (children have ``max_retries=0``); it retries
transient faults, fails over to the other provider, escalates to the next tier, and
ends every request in an answer or a typed error, with each attempt in the ledger.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from langchain_costrouter import CostRouterError, Deployment, Route, RoutedChatModel, Tier
from langchain_costrouter.breaker import CircuitBreakers
from langchain_costrouter.cascade import RetryPolicy
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply

ALL_FAULTS = ("429", "500", "503", "timeout", "malformed", "drop")


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
    results = router.batch(
        [f"question {i}" for i in range(1000)],
        config={"max_concurrency": 16},
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    answers = [r for r in results if isinstance(r, AIMessage)]
    errors = [r for r in results if not isinstance(r, AIMessage)]
    print(
        f"\n1000 requests, 30% faults: {len(answers)} answers, {len(errors)} typed errors, "
        f"{elapsed:.1f}s"
    )
    assert len(results) == 1000
    assert all(isinstance(e, CostRouterError) for e in errors), {type(e) for e in errors}
    assert len(answers) >= 990  # 3 retries x 2 providers x 2 tiers make total failure rare
    ledger = router.ledger_store
    ledger.flush()
    attempts = sum(len(m.response_metadata["costrouter"]["attempts"]) for m in answers)
    attempts += sum(len(getattr(e, "attempts", [])) for e in errors)
    assert len(ledger.rows()) == attempts
    served = {r.run_id for r in ledger.rows() if r.accepted}
    assert len(served) == len(answers)
    assert elapsed < 120


def test_stream_survives_faults_before_the_first_chunk(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("503"), Fault("malformed")], model="gpt-4o-mini")
    second_openai_server.script([Reply("streamed after failover")], model="gpt-4o-mini")
    router = _router(
        openai_server,
        second_openai_server,
    ).model_copy(update={"retry": RetryPolicy(max_retries=1, backoff_base=0.0)})
    chunks = list(router.stream("hello"))
    assert "".join(str(c.content) for c in chunks) == "streamed after failover"
    final = chunks[-1].response_metadata["costrouter"]
    assert [a["provider"] for a in final["attempts"]] == ["provider-a", "provider-a", "provider-b"]
