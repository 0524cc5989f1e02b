"""Every store keeps the same contract: all-or-none reservations, leases that run out,
settlements after a lease ran out, rate limits, and async methods that match."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext, RateLimit, open_store
from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.store import BudgetStore, RateGrant, Refusal
from langchain_costrouter.errors import BudgetExhaustedError, BudgetLeaseExpiredWarning

pytestmark = [
    pytest.mark.services,
    pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.BudgetSoftLimitWarning"),
]
ACME = CallContext("chat", {"tenant": "acme"})
TENANT = Budget(name="tenant", per="tenant", limit_usd=1)
EVERYONE = Budget(name="everyone", limit_usd=10, per=None, period=None)


def state(gate: BudgetGate, context: CallContext = ACME) -> dict[str, tuple[Decimal, Decimal]]:
    return {s.budget: (s.spent_usd, s.reserved_usd) for s in gate.status(context)}


@pytest.mark.parametrize("budgets", [[TENANT], [TENANT, EVERYONE]], ids=["one", "two"])
def test_reserve_settle_release_and_refuse(any_store_url: str, budgets: list[Budget]) -> None:
    gate = BudgetGate(budgets, any_store_url)
    first = gate.reserve(ACME, "d", Decimal("0.6"))
    second = gate.reserve(ACME, "d", Decimal("0.4"))  # exactly the limit
    with pytest.raises(BudgetExhaustedError) as refused:
        gate.reserve(ACME, "d", Decimal("0.000000000001"))
    assert (refused.value.budget_name, refused.value.reserved_usd) == ("tenant", Decimal(1))
    gate.settle(first, Decimal("0.25"))
    gate.release(second)
    assert state(gate)["tenant"] == (Decimal("0.25"), Decimal(0))
    if len(budgets) == 2:
        assert state(gate)["everyone"] == (Decimal("0.25"), Decimal(0))
    gate.close()


@pytest.mark.parametrize("budgets", [[TENANT], [TENANT, EVERYONE]], ids=["one", "two"])
def test_a_first_reservation_above_the_limit_is_refused(
    any_store_url: str, budgets: list[Budget]
) -> None:
    gate = BudgetGate(budgets, any_store_url)
    with pytest.raises(BudgetExhaustedError) as refused:
        gate.reserve(ACME, "d", Decimal("1.01"))
    assert (refused.value.spent_usd, refused.value.reserved_usd) == (Decimal(0), Decimal(0))
    assert state(gate)["tenant"] == (Decimal(0), Decimal(0))


def test_all_or_none_across_budgets(any_store_url: str) -> None:
    gate = BudgetGate([TENANT, EVERYONE], any_store_url)
    gate.reserve(ACME, "d", Decimal("0.9"))
    with pytest.raises(BudgetExhaustedError, match="'tenant'"):
        gate.reserve(ACME, "d", Decimal("0.2"))
    assert state(gate)["everyone"] == (Decimal(0), Decimal("0.9"))  # untouched by the refusal
    globex = CallContext("chat", {"tenant": "globex"})
    gate.reserve(globex, "d", Decimal("0.2"))
    assert state(gate, globex) == {
        "everyone": (Decimal(0), Decimal("1.1")),
        "tenant": (Decimal(0), Decimal("0.2")),
    }


def test_all_or_none_holds_when_threads_race_for_the_last_room(shared_store_url: str) -> None:
    """Threads reserve on the tenant and the global account at once: the tenant runs
    out, and every reservation either took both accounts or neither. Three rounds, two
    new tenants each: a reservation on Postgres once took the global account alone in
    about one race in eight on a busy machine (budgets/sql_postgres.py, `_lock_all`).
    The gate's clock is pinned: across midnight UTC the tenants' daily accounts would
    start afresh."""
    started = time.time()
    gate = BudgetGate([TENANT, EVERYONE], shared_store_url, clock=lambda: started)
    for round_ in range(1, 4):
        first = CallContext("chat", {"tenant": f"acme-{round_}"})
        second = CallContext("chat", {"tenant": f"globex-{round_}"})
        assert race_until_refused(gate, [first] * 4 + [second] * 2) == 66  # 33 x $0.03 each
        assert state(gate, first)["tenant"] == (Decimal(0), Decimal("0.99"))
        assert state(gate, second)["tenant"] == (Decimal(0), Decimal("0.99"))
        everyone = state(gate, first)["everyone"]
        assert everyone == (Decimal(0), Decimal("1.98") * round_)  # both tenants, no more
    gate.close()


def race_until_refused(gate: BudgetGate, contexts: list[CallContext]) -> int:
    """A thread per context reserves $0.03 at a time until refused; all they took."""
    taken: list[int] = []
    start = threading.Barrier(len(contexts))

    def reserve_until_refused(context: CallContext) -> None:
        start.wait()
        count = 0
        while True:
            try:
                gate.reserve(context, "d", Decimal("0.03"))
            except BudgetExhaustedError:
                break
            count += 1
        taken.append(count)

    threads = [threading.Thread(target=reserve_until_refused, args=(c,)) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(taken)


@pytest.mark.parametrize("budgets", [[TENANT], [TENANT, EVERYONE]], ids=["one", "two"])
def test_leases_run_out_and_late_settlements_still_count(
    any_store_url: str, budgets: list[Budget]
) -> None:
    gate = BudgetGate(budgets, any_store_url, lease_seconds=0.3)
    late = gate.reserve(ACME, "d", Decimal("0.9"))
    with pytest.raises(BudgetExhaustedError):
        gate.reserve(ACME, "d", Decimal("0.5"))
    time.sleep(0.5)
    gate.reserve(ACME, "d", Decimal("0.5"))  # the late call's lease ran out
    gate.settle(late, Decimal("0.3"))
    assert state(gate)["tenant"] == (Decimal("0.3"), Decimal("0.5"))


def test_charge_adds_spend_without_a_lease(any_store_url: str) -> None:
    gate = BudgetGate([TENANT, EVERYONE], any_store_url)
    gate.charge(ACME, "judge", Decimal("0.4"))
    assert state(gate) == {
        "everyone": (Decimal("0.4"), Decimal(0)),
        "tenant": (Decimal("0.4"), Decimal(0)),
    }


def test_soft_threshold_once_across_gates_sharing_a_store(shared_store_url: str) -> None:
    gates = [BudgetGate([TENANT], shared_store_url) for _ in range(3)]
    crossed = [
        gates[i % 3].settle(gates[i % 3].reserve(ACME, "d", Decimal("0.1")), Decimal("0.1"))
        for i in range(10)
    ]
    assert [i for i, s in enumerate(crossed) if s.soft_limits_crossed] == [7]  # $0.8 reached


def test_rate_limits(any_store_url: str) -> None:
    gate = BudgetGate(store=any_store_url, rate_limits={"d": RateLimit(rpm=3, tpm=1000)})
    grants = [gate.acquire_rate("d", 100, max_wait=0) for _ in range(4)]
    assert [g.granted for g in grants] == [True, True, True, False]
    assert 19 < grants[3].wait_seconds <= 20
    queued = gate.acquire_rate("d", 100, max_wait=60)
    assert queued.granted and 19 < queued.wait_seconds <= 20
    after_queued = gate.acquire_rate("d", 100, max_wait=0)
    assert 39 < after_queued.wait_seconds <= 40
    assert gate.acquire_rate("d", 1001).wait_seconds == float("inf")


def test_a_limit_set_later_finds_no_debt_from_calls_made_without_it(any_store_url: str) -> None:
    # Under a tokens-only limit the request bucket was still drawn on, one request per
    # call below its cap of 0: once rpm was added (a new config, or a rolling deploy of
    # it beside old processes), 300 earlier calls made the next one wait 30 s at 600 rpm,
    # and a persistent store's debt of a day's calls kept the deployment refused for hours.
    tokens_only = BudgetGate(store=any_store_url, rate_limits={"d": RateLimit(tpm=1_000_000)})
    assert all(tokens_only.acquire_rate("d", 10).granted for _ in range(300))
    both = BudgetGate(store=tokens_only.store, rate_limits={"d": RateLimit(rpm=600, tpm=1_000_000)})
    assert both.acquire_rate("d", 10, max_wait=1).granted
    requests_only = BudgetGate(store=both.store, rate_limits={"d": RateLimit(rpm=600)})
    assert all(requests_only.acquire_rate("d", 900_000).granted for _ in range(2))
    assert both.acquire_rate("d", 10, max_wait=1).granted  # no debt of 1.8M tokens either


def test_async_methods_match(any_store_url: str) -> None:
    gate = BudgetGate([TENANT, EVERYONE], any_store_url, rate_limits={"d": RateLimit(rpm=1)})
    single = BudgetGate([Budget(name="solo", limit_usd=1)], any_store_url)

    async def scenario() -> None:
        held = await asyncio.gather(*(gate.areserve(ACME, "d", Decimal("0.2")) for _ in range(5)))
        with pytest.raises(BudgetExhaustedError):
            await gate.areserve(ACME, "d", Decimal("0.01"))
        await asyncio.gather(*(gate.asettle(r, Decimal("0.1")) for r in held))
        assert [(s.budget, s.spent_usd) for s in await gate.astatus(ACME)] == [
            ("everyone", Decimal("0.5")),
            ("tenant", Decimal("0.5")),
        ]
        solo = await single.areserve(ACME, "d", Decimal("0.7"))
        await single.arelease(solo)
        assert (await single.astatus(ACME))[0].reserved_usd == Decimal(0)
        assert (await gate.aacquire_rate("d", 1, max_wait=0)).granted
        assert not (await gate.aacquire_rate("d", 1, max_wait=0)).granted

    asyncio.run(scenario())
    asyncio.run(scenario_in_a_second_loop(single))


async def scenario_in_a_second_loop(gate: BudgetGate) -> None:
    """A store opens connections per event loop: a second loop works as well as the first."""
    await gate.arelease(await gate.areserve(ACME, "d", Decimal("0.1")))


def test_accounts_of_each_window_are_separate(shared_store_url: str) -> None:
    # The last second of today, not of a fixed date: a store forgets an account a day
    # after its window ended by the real clock (Redis expires keys by its own time).
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = midnight + timedelta(days=1)
    now = [tomorrow.timestamp() - 1]
    gate = BudgetGate([TENANT], shared_store_url, clock=lambda: now[0])
    gate.settle(gate.reserve(ACME, "d", 1), 1)
    with pytest.raises(BudgetExhaustedError) as refused:
        gate.reserve(ACME, "d", Decimal("0.5"))
    assert refused.value.reset_at == tomorrow
    now[0] += 2
    gate.reserve(ACME, "d", Decimal("0.5"))


def test_tenant_names_never_mix_with_other_keys(shared_store_url: str) -> None:
    gate = BudgetGate([TENANT], shared_store_url)
    odd = CallContext("chat", {"tenant": f"a|b:{uuid.uuid4().hex} 'quoted' \"x\""})
    gate.settle(gate.reserve(odd, "d", Decimal("0.5")), Decimal("0.5"))
    assert state(gate, odd)["tenant"] == (Decimal("0.5"), Decimal(0))
    assert state(gate)["tenant"] == (Decimal(0), Decimal(0))


def test_an_event_loop_that_ended_leaves_no_redis_connection_behind(redis_url: str) -> None:
    # A sync app calling asyncio.run per request (a Flask view, a Celery task): each
    # loop's client was kept with the loop it referenced, so neither was ever freed, and
    # every request left a socket open until the process ran out of file descriptors.
    name = f"costrouter-test-{uuid.uuid4().hex[:12]}"
    prefix = f"costrouter-test:{uuid.uuid4().hex[:12]}:"
    gate = BudgetGate([TENANT], store=f"{redis_url}?client_name={name}&prefix={prefix}")

    async def one_call() -> None:
        reservation = await gate.areserve(ACME, "d", Decimal("0.001"))
        await gate.asettle(reservation, Decimal("0.001"))

    for _ in range(10):
        asyncio.run(one_call())
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert [c for c in admin.client_list() if c["name"] == name] == []
        assert gate.status(ACME)[0].spent_usd == Decimal("0.01")  # the calls did count
        admin.delete(*admin.keys(prefix + "*"))
    finally:
        admin.close()
        gate.close()


class _ReplyNeverRead(BudgetStore):
    """A store whose reservations reach the server, and whose caller is cancelled
    before it reads the reply (a client disconnect, a timeout around the call)."""

    def __init__(self, inner: BudgetStore) -> None:
        self.inner, self.url = inner, inner.url
        self.reserved = asyncio.Event()

    def reserve(self, *args: Any) -> Refusal | None:
        return self.inner.reserve(*args)

    async def areserve(self, *args: Any) -> Refusal | None:
        await self.inner.areserve(*args)
        self.reserved.set()
        await asyncio.Event().wait()  # cancelled here, the reservation made
        raise AssertionError("unreachable")

    def settle(self, *args: Any) -> list[int]:
        return self.inner.settle(*args)

    async def asettle(self, *args: Any) -> list[int]:
        return await self.inner.asettle(*args)

    def read(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        return self.inner.read(claims)

    def acquire_rate(self, *args: Any) -> RateGrant:
        return self.inner.acquire_rate(*args)


def test_a_reservation_cancelled_before_its_reply_is_given_back(any_store_url: str) -> None:
    # The reservation was made, the caller never learnt its id's fate: it held the
    # budget until its lease ran out (10 minutes by default), refusing calls meanwhile.
    store = _ReplyNeverRead(open_store(any_store_url))
    gate = BudgetGate([TENANT], store=store)

    async def cancel_while_reserving() -> None:
        reserving = asyncio.create_task(gate.areserve(ACME, "d", Decimal("0.6")))
        await store.reserved.wait()
        reserving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reserving

    asyncio.run(cancel_while_reserving())
    assert state(gate) == {"tenant": (Decimal(0), Decimal(0))}
    gate.reserve(ACME, "d", Decimal("0.6"))  # the room is there again
    store.inner.close()


@pytest.mark.parametrize("budgets", [[TENANT], [TENANT, EVERYONE]], ids=["one", "two"])
@pytest.mark.parametrize("reclaimed_first", [False, True], ids=["settled", "read-then-settled"])
def test_a_call_longer_than_its_lease_counts_its_cost_once(
    any_store_url: str, budgets: list[Budget], reclaimed_first: bool
) -> None:
    """A call outlives its lease: its settlement finds the lease still there (nothing
    dropped it yet) or dropped already (a read or a reservation reclaimed it). Either way
    the cost counts once and the reservation is freed once, never twice (a negative
    'reserved' would give later calls room the limit does not have)."""
    gate = BudgetGate(budgets, any_store_url, lease_seconds=0.2)
    sync_call = gate.reserve(ACME, "d", Decimal("0.4"))
    async_call = asyncio.run(gate.areserve(ACME, "d", Decimal("0.4")))
    time.sleep(0.4)
    if reclaimed_first:
        assert state(gate)["tenant"] == (Decimal(0), Decimal(0))  # ran out: not held
    with pytest.warns(BudgetLeaseExpiredWarning, match="budget_lease_seconds"):
        gate.settle(sync_call, Decimal("0.3"))
    with pytest.warns(BudgetLeaseExpiredWarning):
        asyncio.run(gate.asettle(async_call, Decimal("0.2")))
    assert state(gate)["tenant"] == (Decimal("0.5"), Decimal(0))
    if len(budgets) == 2:
        assert state(gate)["everyone"] == (Decimal("0.5"), Decimal(0))
    gate.reserve(ACME, "d", Decimal("0.5"))  # exactly the room left: nothing freed twice
    with pytest.raises(BudgetExhaustedError):
        gate.reserve(ACME, "d", Decimal("0.000000000001"))
    gate.close()
