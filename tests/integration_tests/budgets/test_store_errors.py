"""A budget store that is down: refuse calls (the default) or let them through, loudly."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.budgets import (
    Budget,
    BudgetGate,
    CallContext,
    RateLimit,
    Reservation,
    Settlement,
    open_store,
    pending,
)
from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.pending import SettlementStats
from langchain_costrouter.budgets.store import BudgetStore, RateGrant, Refusal
from langchain_costrouter.errors import BackendUnavailableWarning, BudgetStoreError, ConfigError
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.integration_tests.budgets.conftest import clean_up, store_url

pytestmark = pytest.mark.services
DOWN = [
    "redis://127.0.0.1:1/0?prefix=nobody:",
    "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1",
]
ACME = CallContext("chat", {"tenant": "acme"})


@pytest.mark.parametrize("url", DOWN, ids=["redis", "postgres"])
def test_a_store_that_is_down_refuses_calls_and_names_itself(url: str) -> None:
    gate = BudgetGate(
        [Budget(name="tenant", per="tenant", limit_usd=1)], url, rate_limits={"d": RateLimit(rpm=1)}
    )
    with pytest.raises(BudgetStoreError, match=r"(?s)127\.0\.0\.1:1.*refused while their budgets"):
        gate.reserve(ACME, "d", Decimal("0.1"))
    with pytest.raises(BudgetStoreError):
        gate.acquire_rate("d", 10)


@pytest.mark.parametrize("url", DOWN, ids=["redis", "postgres"])
def test_allow_lets_calls_through_with_a_warning(url: str) -> None:
    gate = BudgetGate(
        [Budget(name="tenant", per="tenant", limit_usd=1)],
        url,
        rate_limits={"d": RateLimit(rpm=1)},
        on_store_error="allow",
    )
    with pytest.warns(BackendUnavailableWarning, match="Letting the call through"):
        reservation = gate.reserve(ACME, "d", Decimal("0.1"))
    assert not reservation.tracked
    assert gate.settle(reservation, Decimal("0.05")).counted_usd == Decimal("0.05")
    with pytest.warns(BackendUnavailableWarning):
        assert gate.acquire_rate("d", 10).granted


def test_a_router_lets_calls_through_a_store_that_is_down_when_told_to() -> None:
    child = ScriptedChatModel(model="gpt-4o-mini", answers=["ok"])
    budgets = [Budget(name="tenant", per="tenant", limit_usd=1)]
    refusing = RoutedChatModel(routes={"chat": [child]}, budgets=budgets, budget_store=DOWN[0])
    with pytest.raises(BudgetStoreError, match="on_budget_store_error='allow'"):
        refusing.invoke("hi")
    allowing = RoutedChatModel(
        routes={"chat": [child]},
        budgets=budgets,
        budget_store=DOWN[0],
        on_budget_store_error="allow",
    )
    with pytest.warns(BackendUnavailableWarning, match="Letting the call through"):
        assert allowing.invoke("hi").content == "ok"
    assert child.calls == 1  # the refused call never reached the provider


def test_a_gate_given_where_a_store_goes_is_refused_at_once() -> None:
    gate = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], "memory://")
    with pytest.raises(ConfigError, match="expected a store URL or a BudgetStore, got BudgetGate"):
        RoutedChatModel(
            routes={"chat": [ScriptedChatModel(model="gpt-4o-mini")]},
            budgets=[Budget(name="tenant", per="tenant", limit_usd=1)],
            budget_store=gate,
        )


async def test_async_calls_refuse_too() -> None:
    gate = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], DOWN[0])
    with pytest.raises(BudgetStoreError):
        await gate.areserve(ACME, "d", Decimal("0.1"))


def test_a_store_failing_at_settlement_warns_instead_of_failing_the_answered_call(
    redis_url: str,
) -> None:
    url = f"{redis_url}?prefix=costrouter-test:{uuid.uuid4().hex}:"
    tenant = [Budget(name="tenant", per="tenant", limit_usd=1)]
    reservation = BudgetGate(tenant, url, lease_seconds=0.3).reserve(ACME, "d", 0.1)
    broken = BudgetGate(tenant, DOWN[0], lease_seconds=0.3)  # its retries end with the lease
    with pytest.warns(BackendUnavailableWarning, match="was not settled"):
        settlement = broken.settle(reservation, Decimal("0.05"))
    assert settlement.counted_usd == Decimal("0.05")
    assert _stats_once_done(broken).lost == 1
    clean_up(url)


SECRET = "hunter2"
UNREACHABLE = {  # nobody listens on port 1: every call is a real connection refused
    "redis": f"redis://:{SECRET}@127.0.0.1:1/0",
    "postgres": f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test?connect_timeout=1",
}
COST = Decimal("0.123456789012")  # to the picodollar


class _Outage(BudgetStore):
    """A shared store whose server cannot be reached for its first ``failures``
    settlements: those go to the same kind of store on a port nobody listens on, so
    they fail as an outage does (connection refused, with the password in its URL)."""

    def __init__(self, url: str, kind: str, failures: int) -> None:
        self.live, self.dead = open_store(url), open_store(UNREACHABLE[kind])
        self.url, self.failures, self.settles = self.live.url, failures, 0

    def _now(self) -> BudgetStore:
        self.settles += 1
        if self.settles <= self.failures:
            return self.dead
        return self.live

    def reserve(self, *args: Any) -> Refusal | None:
        return self.live.reserve(*args)

    def settle(self, *args: Any) -> list[int]:
        return self._now().settle(*args)

    async def asettle(self, *args: Any) -> list[int]:
        return await self._now().asettle(*args)

    def renew(self, *args: Any) -> bool:
        return self.live.renew(*args)

    def read(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        return self.live.read(claims)

    def acquire_rate(self, *args: Any) -> RateGrant:
        return self.live.acquire_rate(*args)

    def close(self) -> None:
        self.live.close()
        self.dead.close()


def state(gate: BudgetGate) -> dict[str, tuple[Decimal, Decimal]]:
    return {s.budget: (s.spent_usd, s.reserved_usd) for s in gate.status(ACME)}


def _state_once(gate: BudgetGate, expected: dict[str, tuple[Decimal, Decimal]]) -> object:
    """Each budget's (spent, reserved) once it is ``expected``, or after 5 seconds."""
    deadline = time.monotonic() + 5.0
    while (seen := state(gate)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def _stats_once_done(gate: BudgetGate) -> SettlementStats:
    """The gate's settlement stats once none is pending, or after 5 seconds: a retry
    counts its settlement just after the store took it, so the store can show the
    spend a moment before the stats do."""
    deadline = time.monotonic() + 5.0
    while (stats := gate.settlement_stats()).pending and time.monotonic() < deadline:
        time.sleep(0.02)
    return stats


def _settle(gate: BudgetGate, reservation: Reservation, entry: str) -> Settlement:
    if entry == "sync":
        return gate.settle(reservation, COST)
    return asyncio.run(gate.asettle(reservation, COST))


BOTH = [Budget(name="tenant", per="tenant", limit_usd=1), Budget(name="all", limit_usd=10)]


@pytest.mark.parametrize("kind", ["redis", "postgres"])
@pytest.mark.parametrize("entry", ["sync", "async"])
def test_a_settlement_the_store_failed_is_counted_once_it_is_back(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, entry: str
) -> None:
    # Two settlements in a row fail (the first try and the first retry): the call's cost
    # reached no machine's budget, and its hold ran out with its lease.
    url = store_url(kind, request, tmp_path)
    store = _Outage(url, kind, failures=2)
    gate = BudgetGate(BOTH, store, lease_seconds=5)
    reservation = gate.reserve(ACME, "d", Decimal("0.5"))
    gate.keep(reservation)
    started = time.monotonic()
    with pytest.warns(BackendUnavailableWarning, match="was not settled") as warned:
        settlement = _settle(gate, reservation, entry)
    assert time.monotonic() - started < 2.0  # the answered call is not held up
    assert settlement.counted_usd == COST
    assert all(SECRET not in str(w.message) for w in warned)
    settled = {"tenant": (COST, Decimal(0)), "all": (COST, Decimal(0))}
    assert _state_once(gate, settled) == settled  # to the picodollar, on both budgets
    assert store.settles == 3
    stats = _stats_once_done(gate)
    assert (stats.retried, stats.recovered, stats.lost, stats.pending) == (1, 1, 0, 0)
    gate.close()
    clean_up(url)


@pytest.mark.parametrize("entry", ["sync", "async"])
def test_a_settlement_still_failing_when_its_lease_ends_is_logged_and_counted(
    redis_url: str, caplog: pytest.LogCaptureFixture, entry: str
) -> None:
    url = f"{redis_url}?prefix=costrouter-test:{uuid.uuid4().hex}:"
    store = _Outage(url, "redis", failures=10**6)
    gate = BudgetGate(BOTH, store, lease_seconds=1)
    reservation = gate.reserve(ACME, "d", Decimal("0.5"))
    with pytest.warns(BackendUnavailableWarning, match="was not settled"):
        _settle(gate, reservation, entry)
    with caplog.at_level(logging.WARNING, logger="langchain_costrouter.budgets"):
        stats = _stats_once_done(gate)
    assert (stats.retried, stats.recovered, stats.lost, stats.pending) == (1, 0, 1, 0)
    assert stats.lost_usd == COST
    assert store.settles >= 2  # retried with backoff until the lease ended, then given up
    (record,) = [r for r in caplog.records if reservation.id in r.getMessage()]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "$0.123456789012" in message and "127.0.0.1:1" in message
    assert SECRET not in message
    nothing = {"tenant": (Decimal(0), Decimal(0)), "all": (Decimal(0), Decimal(0))}
    assert _state_once(gate, nothing) == nothing  # the store's lease ends a little later
    gate.close()
    clean_up(url)


def test_a_settlement_that_succeeds_retries_those_its_store_failed_at_once(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first retry is 15 to 30 s away: the next settlement that reaches the store says
    # it is back, and the failed one is tried then.
    monkeypatch.setattr(pending, "FIRST_RETRY", 30.0)
    url = f"{redis_url}?prefix=costrouter-test:{uuid.uuid4().hex}:"
    store = _Outage(url, "redis", failures=1)
    gate = BudgetGate(BOTH, store, lease_seconds=120)
    failed, later = gate.reserve(ACME, "d", Decimal("0.5")), gate.reserve(ACME, "d", Decimal("0.4"))
    with pytest.warns(BackendUnavailableWarning, match="was not settled"):
        gate.settle(failed, COST)
    gate.settle(later, Decimal("0.1"))
    spent = COST + Decimal("0.1")
    both = {"tenant": (spent, Decimal(0)), "all": (spent, Decimal(0))}
    assert _state_once(gate, both) == both
    assert _stats_once_done(gate).recovered == 1
    gate.close()
    clean_up(url)


@pytest.mark.parametrize("back", [True, False], ids=["store-back", "store-down"])
def test_closing_a_gate_settles_what_its_store_owes_or_reports_it_lost(
    redis_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, back: bool
) -> None:
    # The retry is 15 to 30 s away and the lease two minutes: closing the gate tries the
    # settlement once more at once (counted if the store is back), else reports it lost,
    # and nothing is retried against the closed store afterwards.
    monkeypatch.setattr(pending, "FIRST_RETRY", 30.0)
    url = f"{redis_url}?prefix=costrouter-test:{uuid.uuid4().hex}:"
    store = _Outage(url, "redis", failures=1 if back else 10**6)
    gate = BudgetGate(BOTH, store, lease_seconds=120)
    reservation = gate.reserve(ACME, "d", Decimal("0.5"))
    with pytest.warns(BackendUnavailableWarning, match="was not settled"):
        gate.settle(reservation, COST)
    reader = BudgetGate(BOTH, open_store(url), lease_seconds=120)
    with caplog.at_level(logging.WARNING, logger="langchain_costrouter.budgets"):
        gate.close()
    stats = gate.settlement_stats()
    assert store.settles == 2 and stats.pending == 0
    if back:
        assert (stats.recovered, stats.lost) == (1, 0)
        assert state(reader) == {"tenant": (COST, Decimal(0)), "all": (COST, Decimal(0))}
    else:
        assert (stats.recovered, stats.lost, stats.lost_usd) == (0, 1, COST)
        (record,) = [r for r in caplog.records if reservation.id in r.getMessage()]
        assert "its budget gate was closed" in record.getMessage()
        assert SECRET not in record.getMessage()
    time.sleep(0.3)
    assert store.settles == 2  # not retried after the close
    reader.close()
    clean_up(url)
