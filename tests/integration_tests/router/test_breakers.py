"""Circuit breakers per deployment, over real HTTP: one endpoint's health is its own.

Two ``ChatOpenAI`` children are both provider "openai"; only their base URL (or model)
tells them apart, and that is what a breaker tracks.
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from langchain_costrouter import CircuitBreakers, RetryPolicy, RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer
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
