"""Rate limits: the token-bucket arithmetic and the gate's rate limiter in one process."""

from __future__ import annotations

import math

import pytest

from langchain_costrouter.budgets import BudgetGate, RateLimit
from langchain_costrouter.budgets.store import Buckets, take

PER_MINUTE = RateLimit(rpm=60, tpm=6000)


def test_a_full_bucket_grants_at_once_and_takes_the_call() -> None:
    state, grant = take(None, PER_MINUTE, tokens=100, max_wait=0, now=1000.0)
    assert (grant.granted, grant.wait_seconds) == (True, 0.0)
    assert state == Buckets(requests=59, tokens=5900, updated_at=1000.0)


def test_an_empty_bucket_tells_the_wait_and_takes_nothing_beyond_max_wait() -> None:
    empty = Buckets(requests=0, tokens=6000, updated_at=1000.0)
    state, grant = take(empty, PER_MINUTE, tokens=100, max_wait=0.5, now=1000.0)
    assert state is None
    assert (grant.granted, grant.wait_seconds) == (False, pytest.approx(1.0))


def test_a_granted_wait_takes_the_call_in_advance() -> None:
    empty = Buckets(requests=0, tokens=6000, updated_at=1000.0)
    state, grant = take(empty, PER_MINUTE, tokens=100, max_wait=5, now=1000.25)
    assert grant.granted and grant.wait_seconds == pytest.approx(0.75)
    assert state is not None and state.requests == pytest.approx(-0.75)


def test_buckets_refill_continuously_up_to_a_minutes_worth() -> None:
    state = Buckets(requests=-2, tokens=0, updated_at=0.0)
    refilled, grant = take(state, PER_MINUTE, tokens=0, max_wait=0, now=3600.0)
    assert grant.granted and refilled == Buckets(59, 6000, 3600.0)


def test_tokens_can_be_what_limits() -> None:
    low = Buckets(requests=60, tokens=50, updated_at=0.0)
    _, grant = take(low, PER_MINUTE, tokens=150, max_wait=0, now=0.0)
    assert grant.wait_seconds == pytest.approx(1.0)  # 100 tokens at 100 tokens/second


def test_more_tokens_than_a_minute_holds_can_never_be_granted() -> None:
    _, grant = take(None, PER_MINUTE, tokens=6001, max_wait=math.inf, now=0.0)
    assert (grant.granted, grant.wait_seconds) == (False, math.inf)


def test_gate_limits_only_the_deployments_it_has_limits_for() -> None:
    gate = BudgetGate(rate_limits={"openai/gpt-4o": RateLimit(rpm=2)})
    assert [gate.acquire_rate("openai/gpt-4o", 10, max_wait=0).granted for _ in range(3)] == [
        True,
        True,
        False,
    ]
    third = gate.acquire_rate("openai/gpt-4o", 10, max_wait=60)
    assert third.granted and 29 < third.wait_seconds <= 30
    assert all(gate.acquire_rate("other/model", 10**6, max_wait=0).granted for _ in range(100))


async def test_async_rate_limiter() -> None:
    gate = BudgetGate(rate_limits={"d": RateLimit(tpm=1000)})
    assert (await gate.aacquire_rate("d", 1000, max_wait=0)).granted
    refused = await gate.aacquire_rate("d", 500, max_wait=0)
    assert not refused.granted and 29 < refused.wait_seconds <= 30
