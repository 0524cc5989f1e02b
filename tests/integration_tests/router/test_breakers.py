"""Circuit breakers per deployment, over real HTTP: one endpoint's health is its own.

Two ``ChatOpenAI`` children are both provider "openai"; only their base URL (or model)
tells them apart, and that is what a breaker tracks. A half-open trial that a call takes
and never makes, or never reports, is given back: the endpoint is tried again. A budget
that downgrades a call to a cheaper deployment asks that deployment's breaker too.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter import (
    Budget,
    BudgetExhaustedError,
    CircuitBreakers,
    ProviderError,
    RateLimit,
    RetryPolicy,
    RoutedChatModel,
)
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.routes import Deployment
from langchain_costrouter.testing import CONTEXT_LENGTH_EXCEEDED, Fault, LocalOpenAIServer
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


class _Clock:
    """The breakers' clock, moved on by hand: a cooldown passes without a wait."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _router(server: LocalOpenAIServer, breakers: CircuitBreakers, **fields: Any) -> RoutedChatModel:
    """gpt-4o-mini first, gpt-4o its fallback in the same tier."""
    children = [_child(server.base_url), _child(server.base_url, "gpt-4o")]
    return RoutedChatModel(routes={"chat": [children]}, breakers=breakers, retry=NO_WAIT, **fields)


def _tripped(
    server: LocalOpenAIServer, model: str = "gpt-4o-mini", *, elapsed: bool = True
) -> CircuitBreakers:
    """Breakers whose ``model`` breaker a 500 opened, its cooldown since elapsed (unless
    not ``elapsed``): the next call that reaches it takes the half-open trial."""
    clock = _Clock()
    breakers = CircuitBreakers(failure_threshold=1, cooldown=60, clock=clock)
    server.script([Fault("500")], model=model)
    other = "gpt-4o" if model == "gpt-4o-mini" else "gpt-4o-mini"
    children = [_child(server.base_url, model), _child(server.base_url, other)]
    RoutedChatModel(routes={"chat": [children]}, breakers=breakers, retry=NO_WAIT).invoke("hi")
    assert [r.outcome for r in server.requests] == ["500", "reply"]
    clock.now = 61.0 if elapsed else 1.0
    return breakers


def _refused_by_a_budget(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    tiny = Budget(name="tiny", limit_usd=Decimal("0.000000001"))
    with pytest.raises(BudgetExhaustedError):
        _router(server, breakers, budgets=[tiny]).invoke("hello")


def _rate_limited(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    router = _router(server, breakers, rate_limits={"openai/gpt-4o-mini": RateLimit(rpm=1)})
    gate = router._current().stages.cascade.budgets.gate
    assert gate.acquire_rate("openai/gpt-4o-mini", 1, max_wait=0).granted  # the minute's one
    attempts = router.invoke("hello").response_metadata["costrouter"]["attempts"]
    assert [a["reason"][:19] for a in attempts] == ["skipped: rate limit", "accepted"]


def _overflowed(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    too_long = "This model's maximum context length is 128000 tokens."
    server.script(
        [Fault("400", code=CONTEXT_LENGTH_EXCEEDED, message=too_long)], model="gpt-4o-mini"
    )
    tiers = [_child(server.base_url), _child(server.base_url, "gpt-4o")]
    router = RoutedChatModel(routes={"chat": tiers}, breakers=breakers, retry=NO_WAIT)
    assert router.invoke("hello").response_metadata["model_name"] == "gpt-4o"


def _rejected(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    server.script([Fault("400", message="Incorrect API key provided")], model="gpt-4o-mini")
    with pytest.raises(ProviderError, match="rejected the request"):
        _router(server, breakers).invoke("hello")


def _cut_mid_stream(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    server.script([Fault("drop", after_chunks=2)], model="gpt-4o-mini")
    with pytest.raises(ProviderError, match="cut the stream"):
        for _ in _router(server, breakers).stream("hello"):
            pass


def _left_mid_stream(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    stream = _router(server, breakers).stream("hello")
    next(stream)
    assert isinstance(stream, Generator)
    stream.close()  # the consumer stopped reading


def _cancelled(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    server.set_latency(5.0, model="gpt-4o-mini")

    async def cancelled() -> None:
        call = asyncio.create_task(_router(server, breakers).ainvoke("hello"))
        while server.request_count("gpt-4o-mini") < 2:
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled())
    server.set_latency(0.0, model="gpt-4o-mini")


def _interrupted(server: LocalOpenAIServer, breakers: CircuitBreakers) -> None:
    """A real SIGALRM whose handler raises KeyboardInterrupt, as Ctrl-C does."""
    server.set_latency(5.0, model="gpt-4o-mini")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            _router(server, breakers).invoke("hello")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert server.request_count("gpt-4o-mini") == 2  # interrupted during the trial
    server.set_latency(0.0, model="gpt-4o-mini")


@pytest.mark.parametrize(
    "abandon",
    [
        _refused_by_a_budget,
        _rate_limited,
        _overflowed,
        _rejected,
        _cut_mid_stream,
        _left_mid_stream,
        _cancelled,
        _interrupted,
    ],
)
def test_a_half_open_trial_never_made_or_reported_lets_the_next_call_try(
    openai_server: LocalOpenAIServer, abandon: Callable[[LocalOpenAIServer, CircuitBreakers], None]
) -> None:
    """The trial ``abandon`` took ended without a success or a retryable failure: the
    breaker is open with its cooldown elapsed again, so the endpoint, healthy now, gets
    the next call (it was refused for the rest of the process)."""
    breakers = _tripped(openai_server)
    abandon(openai_server, breakers)
    before = openai_server.request_count("gpt-4o-mini")

    attempts = _router(openai_server, breakers).invoke("hello").response_metadata["costrouter"]
    assert [(a["model"], a["reason"]) for a in attempts["attempts"]] == [
        ("gpt-4o-mini", "accepted")
    ]
    assert openai_server.request_count("gpt-4o-mini") == before + 1
    assert breakers.is_closed(Deployment.of(_child(openai_server.base_url)).breaker_key)


def test_a_half_open_trial_a_budget_downgraded_elsewhere_lets_the_next_call_try(
    openai_server: LocalOpenAIServer,
) -> None:
    """A budget sent gpt-4o's trial to gpt-4o-mini: gpt-4o was never called, and is the
    next call's to try."""
    breakers = _tripped(openai_server, "gpt-4o")
    children = [_child(openai_server.base_url, "gpt-4o"), _child(openai_server.base_url)]
    # At 100 output tokens, worst cases: gpt-4o about $0.001, gpt-4o-mini $0.00006.
    downgrading = Budget(name="small", limit_usd=Decimal("0.0005"), on_exhausted="downgrade")
    router = RoutedChatModel(
        routes={"chat": [children]}, breakers=breakers, retry=NO_WAIT, budgets=[downgrading]
    )
    downgraded = router.invoke("hello", max_tokens=100).response_metadata["costrouter"]["attempts"]
    assert [(a["model"], a.get("downgraded_by")) for a in downgraded] == [("gpt-4o-mini", "small")]
    before = openai_server.request_count("gpt-4o")

    plain = RoutedChatModel(routes={"chat": [children]}, breakers=breakers, retry=NO_WAIT)
    attempts = plain.invoke("hello").response_metadata["costrouter"]["attempts"]
    assert [(a["model"], a["reason"]) for a in attempts] == [("gpt-4o", "accepted")]
    assert openai_server.request_count("gpt-4o") == before + 1


# At 100 output tokens the worst cases are about: gpt-4o $0.001, gpt-4o-mini $0.00006 and
# gpt-4.1-nano $0.00004, the cheapest, where a downgrade sends a call gpt-4o cannot afford.
NANO = "gpt-4.1-nano"


def _downgrading(server: LocalOpenAIServer, breakers: CircuitBreakers) -> RoutedChatModel:
    """gpt-4o, over the budget, then gpt-4.1-nano and gpt-4o-mini in the same tier."""
    small = Budget(name="small", limit_usd=Decimal("0.0005"), on_exhausted="downgrade")
    children = [_child(server.base_url, model) for model in ("gpt-4o", NANO, "gpt-4o-mini")]
    return RoutedChatModel(
        routes={"chat": [children]}, breakers=breakers, retry=NO_WAIT, budgets=[small]
    )


@pytest.mark.parametrize("awaited", [False, True], ids=["invoke", "ainvoke"])
def test_a_budget_downgrade_passes_over_an_open_breaker_to_the_cheapest_healthy_one(
    openai_server: LocalOpenAIServer, awaited: bool
) -> None:
    """The budget would send gpt-4o's call to gpt-4.1-nano, the cheapest, but its breaker
    is open: the downgrade goes to gpt-4o-mini, the cheapest whose breaker admits it,
    and nano is not called (it was, once per retry, answering 500 each time; then it was
    chosen and skipped, the call failing over past it)."""
    breakers = _tripped(openai_server, NANO, elapsed=False)
    openai_server.script([Fault("500")] * 3, model=NANO)  # the endpoint is still dead
    router = _downgrading(openai_server, breakers)
    if awaited:
        answer = asyncio.run(router.ainvoke("hello", max_tokens=100))
    else:
        answer = router.invoke("hello", max_tokens=100)

    attempts = answer.response_metadata["costrouter"]["attempts"]
    assert [(a["model"], a["reason"]) for a in attempts] == [("gpt-4o-mini", "accepted")]
    assert attempts[0]["downgraded_by"] == "small"  # gpt-4o's attempt, downgraded
    assert openai_server.request_count(NANO) == 1  # the 500 that opened it, none since
    gate = router._current().stages.cascade.budgets.gate
    (status,) = gate.status(CallContext("chat", {}))
    assert status.reserved_usd == 0
    assert status.spent_usd == Decimal(repr(attempts[-1]["cost_usd"]))


async def test_a_budget_downgrade_takes_the_half_open_trial_of_the_deployment_it_calls(
    openai_server: LocalOpenAIServer,
) -> None:
    """The downgraded call is gpt-4.1-nano's one half-open trial: another call meanwhile
    is refused it (it was let through too, two calls on an endpoint not known to work),
    and the trial's answer closes the breaker."""
    breakers = _tripped(openai_server, NANO)
    openai_server.set_latency(1.0, model=NANO)
    trial = asyncio.create_task(_downgrading(openai_server, breakers).ainvoke("hi", max_tokens=100))
    while openai_server.request_count(NANO) < 2:
        await asyncio.sleep(0.01)
    children = [_child(openai_server.base_url, NANO), _child(openai_server.base_url)]
    plain = RoutedChatModel(routes={"chat": [children]}, breakers=breakers, retry=NO_WAIT)
    meanwhile = (await plain.ainvoke("hello")).response_metadata["costrouter"]["attempts"]
    assert [(a["model"], a["reason"]) for a in meanwhile] == [
        (NANO, "skipped: circuit open"),
        ("gpt-4o-mini", "accepted"),
    ]
    tried = (await trial).response_metadata["costrouter"]["attempts"]
    assert [(a["model"], a.get("downgraded_by")) for a in tried] == [(NANO, "small")]
    assert openai_server.request_count(NANO) == 2
    assert breakers.is_closed(Deployment.of(_child(openai_server.base_url, NANO)).breaker_key)


def test_a_budget_downgrade_s_failed_trial_reopens_the_breaker_it_took_it_from(
    openai_server: LocalOpenAIServer,
) -> None:
    """The downgraded trial's 500 is reported to gpt-4.1-nano's breaker: it opens again
    (listeners hear it), and the retry is downgraded to the cheapest healthy deployment
    instead, not sent to nano."""
    breakers = _tripped(openai_server, NANO)
    heard: list[tuple[str, str]] = []
    breakers.on_transition(lambda key, state: heard.append((key.rsplit("|", 1)[-1], state)))
    openai_server.script([Fault("500")] * 3, model=NANO)
    router = _downgrading(openai_server, breakers)
    attempts = router.invoke("hi", max_tokens=100).response_metadata["costrouter"]["attempts"]

    assert [(a["model"], a["reason"]) for a in attempts] == [
        (NANO, "error: server"),  # gpt-4o's first attempt, downgraded: the trial
        ("gpt-4o-mini", "accepted"),  # its retry, downgraded past the open breaker
    ]
    assert heard == [(NANO, "half_open"), (NANO, "open")]
    assert openai_server.request_count(NANO) == 2  # the 500 that opened it, and the trial
