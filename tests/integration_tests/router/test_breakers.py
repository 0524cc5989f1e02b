"""Circuit breakers per deployment, over real HTTP: one endpoint's health is its own.

Two ``ChatOpenAI`` children are both provider "openai"; only their base URL (or model)
tells them apart, and that is what a breaker tracks.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter import CircuitBreakers, RetryPolicy, RoutedChatModel
from langchain_costrouter.testing import Fault, LocalOpenAIServer
from tests.server_fixtures import dead_url

NO_WAIT = RetryPolicy(max_retries=1, backoff_base=0.0, backoff_cap=0.0)


def _child(base_url: str, model: str = "gpt-4o-mini") -> ChatOpenAI:
    return ChatOpenAI(model=model, base_url=base_url, api_key="test", max_retries=0)


def test_a_dead_endpoint_does_not_trip_a_healthy_one_of_the_same_provider(
    openai_server: LocalOpenAIServer,
) -> None:
    breakers = CircuitBreakers(failure_threshold=2, cooldown=60)
    dead = RoutedChatModel(
        routes={"chat": [[_child(dead_url()), _child(openai_server.base_url)]]},
        breakers=breakers,
        retry=NO_WAIT,
    )
    for _ in range(2):
        dead.invoke("hello")  # the dead endpoint fails twice, then fails over
    healthy = RoutedChatModel(
        routes={"chat": [_child(openai_server.base_url)]}, breakers=breakers, retry=NO_WAIT
    )
    answer = healthy.invoke("hello")
    assert answer.response_metadata["costrouter"]["attempts"][0]["reason"] == "accepted"
    again = dead.invoke("hello").response_metadata["costrouter"]["attempts"]
    assert again[0]["reason"] == "skipped: circuit open"  # the dead one is skipped now
    assert openai_server.request_count() == 4


def test_a_healthy_model_does_not_reset_a_dead_ones_failures(
    openai_server: LocalOpenAIServer,
) -> None:
    breakers = CircuitBreakers(failure_threshold=2, cooldown=60)
    router = RoutedChatModel(
        routes={"chat": [_child(dead_url()), _child(openai_server.base_url, "gpt-4o")]},
        breakers=breakers,
        retry=NO_WAIT,
    )
    first = router.invoke("hello").response_metadata["costrouter"]["attempts"]
    assert [a["reason"] for a in first[:2]] == ["error: connection"] * 2
    assert first[-1]["model"] == "gpt-4o"
    second = router.invoke("hello").response_metadata["costrouter"]["attempts"]
    # gpt-4o answered (a success) in between, yet the dead model's breaker stayed open.
    assert second[0]["reason"] == "skipped: circuit open"
    assert [a["model"] for a in second] == ["gpt-4o-mini", "gpt-4o"]


def _failing_over(server: LocalOpenAIServer, breakers: CircuitBreakers, retry: RetryPolicy) -> Any:
    """gpt-4o-mini answers 500 to whatever is scripted; gpt-4o, its fallback, answers."""
    server.script([Fault("500")] * 5, model="gpt-4o-mini")
    children = [_child(server.base_url), _child(server.base_url, "gpt-4o")]
    return RoutedChatModel(routes={"chat": [children]}, breakers=breakers, retry=retry)


@pytest.mark.parametrize("awaited", [False, True], ids=["invoke", "ainvoke"])
def test_a_breaker_that_opens_during_the_retries_cuts_them_and_fails_over(
    openai_server: LocalOpenAIServer, awaited: bool
) -> None:
    breakers = CircuitBreakers(failure_threshold=2, cooldown=60)
    retry = RetryPolicy(max_retries=4, backoff_base=0.0, backoff_cap=0.0)
    router = _failing_over(openai_server, breakers, retry)
    answer = asyncio.run(router.ainvoke("hello")) if awaited else router.invoke("hello")

    attempts = answer.response_metadata["costrouter"]["attempts"]
    assert openai_server.request_count("gpt-4o-mini") == 2  # not 5: the second failure opened it
    assert [a["reason"] for a in attempts] == [
        "error: server",
        "error: server",
        "skipped: circuit open",
        "accepted",
    ]
    assert attempts[-1]["model"] == "gpt-4o"


def test_a_breaker_opened_by_the_failure_spares_the_backoff(
    openai_server: LocalOpenAIServer,
) -> None:
    """The retry would be cut after its backoff anyway: the call fails over without
    sleeping it (each backoff here is at least 2.5 seconds)."""
    breakers = CircuitBreakers(failure_threshold=1, cooldown=60)
    retry = RetryPolicy(max_retries=2, backoff_base=5.0, backoff_cap=5.0)
    warm = RoutedChatModel(routes={"chat": [_child(openai_server.base_url)]}, retry=retry)
    warm.invoke("warm up")  # the first call's imports are not the backoff
    openai_server.reset()
    router = _failing_over(openai_server, breakers, retry)
    started = time.monotonic()
    router.invoke("hello")
    assert time.monotonic() - started < 2.0
    assert openai_server.request_count("gpt-4o-mini") == 1


async def test_a_breaker_another_call_opens_during_the_backoff_cuts_the_retry(
    openai_server: LocalOpenAIServer,
) -> None:
    breakers = CircuitBreakers(failure_threshold=2, cooldown=60)
    retry = RetryPolicy(max_retries=1, backoff_base=2.0, backoff_cap=2.0)
    router = _failing_over(openai_server, breakers, retry)
    first = asyncio.create_task(router.ainvoke("first"))
    while openai_server.request_count("gpt-4o-mini") == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the first call failed once (1 of 2) and backs off 1-2 s
    second = await router.ainvoke("second")  # fails too: the breaker opens
    answered = (await first).response_metadata["costrouter"]["attempts"]

    assert openai_server.request_count("gpt-4o-mini") == 2
    assert [a["reason"] for a in answered] == ["error: server", "skipped: circuit open", "accepted"]
    assert second.response_metadata["model_name"] == "gpt-4o"
