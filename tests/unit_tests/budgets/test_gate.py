"""BudgetGate on the in-process store: reservations, settlements, refusals, soft limits."""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from langchain_costrouter.budgets import (
    Budget,
    BudgetGate,
    BudgetStatus,
    CallContext,
    NullBudgetGate,
    SoftLimitCrossed,
)
from langchain_costrouter.errors import (
    BudgetExceededError,
    BudgetExhaustedError,
    BudgetLeaseExpiredWarning,
    BudgetSoftLimitWarning,
    ConfigError,
)

# Soft thresholds are crossed all over these tests; the one test about them checks it.
pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_costrouter.errors.BudgetSoftLimitWarning"
)

ACME = CallContext("chat", {"tenant": "acme"})
GLOBEX = CallContext("chat", {"tenant": "globex"})
NOON = datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp()


def gate(*budgets: Budget, **options: object) -> BudgetGate:
    return BudgetGate(budgets, "memory://", clock=lambda: NOON, **options)  # type: ignore[arg-type]


def spent(g: BudgetGate, context: CallContext) -> dict[str, tuple[Decimal, Decimal]]:
    return {s.budget: (s.spent_usd, s.reserved_usd) for s in g.status(context)}


def test_reserve_holds_the_worst_case_and_settle_replaces_it_by_the_cost() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    reservation = g.reserve(ACME, "openai/gpt-4o", Decimal("0.3"))
    assert spent(g, ACME) == {"tenant": (Decimal(0), Decimal("0.3"))}
    settlement = g.settle(reservation, Decimal("0.1"))
    assert settlement.counted_usd == Decimal("0.1")
    assert spent(g, ACME) == {"tenant": (Decimal("0.1"), Decimal(0))}


def test_release_gives_the_whole_reservation_back() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    g.release(g.reserve(ACME, "d", Decimal("0.9")))
    assert spent(g, ACME) == {"tenant": (Decimal(0), Decimal(0))}


def test_an_unknown_cost_counts_the_whole_reservation_never_zero() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    assert g.settle(g.reserve(ACME, "d", Decimal("0.4")), None).counted_usd == Decimal("0.4")
    assert spent(g, ACME)["tenant"] == (Decimal("0.4"), Decimal(0))


def test_charge_counts_a_cost_nothing_reserved() -> None:
    g = gate(
        Budget(name="tenant", per="tenant", limit_usd=1),
        Budget(name="everyone", limit_usd=5, per=None),
    )
    assert g.charge(ACME, "judge", Decimal("0.3")).counted_usd == Decimal("0.3")
    assert spent(g, ACME) == {
        "everyone": (Decimal("0.3"), Decimal(0)),
        "tenant": (Decimal("0.3"), Decimal(0)),
    }


async def test_async_charge() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    await g.acharge(ACME, "compressor", Decimal("0.2"))
    assert spent(g, ACME)["tenant"] == (Decimal("0.2"), Decimal(0))


def test_a_reservation_is_settled_once() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    reservation = g.reserve(ACME, "d", Decimal("0.1"))
    g.settle(reservation, Decimal("0.1"))
    with pytest.raises(ValueError, match="exactly once"):
        g.release(reservation)


def test_refusal_names_the_budget_its_spend_limit_and_reset() -> None:
    g = gate(Budget(name="tenant-daily", per="tenant", limit_usd=1))
    g.settle(g.reserve(ACME, "d", Decimal("0.7")), Decimal("0.7"))
    held = g.reserve(ACME, "d", Decimal("0.2"))
    with pytest.raises(BudgetExhaustedError) as refused:
        g.reserve(ACME, "d", Decimal("0.2"))
    error = refused.value
    assert isinstance(error, BudgetExceededError)  # old handlers still catch it
    assert (error.budget_name, error.scope, error.task) == ("tenant-daily", "tenant=acme", "chat")
    assert (error.spent_usd, error.reserved_usd) == (Decimal("0.7"), Decimal("0.2"))
    assert (error.limit_usd, error.needed_usd) == (Decimal(1), Decimal("0.2"))
    assert error.reset_at == datetime(2026, 12, 5, tzinfo=UTC)
    assert error.downgrade is False
    assert "'tenant-daily' (tenant=acme) is exhausted: $0.7 spent and $0.2 reserved" in str(error)
    assert "of $1; this call needs up to $0.2. It resets at 2026-12-05T00:00:00+00:00" in str(error)
    g.release(held)
    g.reserve(ACME, "d", Decimal("0.2"))  # fits again once the other call gave its share back


def test_a_reservation_that_fits_exactly_is_taken() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd="0.3"))
    g.reserve(ACME, "d", Decimal("0.1"))
    g.reserve(ACME, "d", Decimal("0.2"))
    with pytest.raises(BudgetExhaustedError):
        g.reserve(ACME, "d", Decimal("0.000000000001"))


def test_every_budget_takes_the_reservation_or_none_does() -> None:
    g = gate(
        Budget(name="tenant", per="tenant", limit_usd=1),
        Budget(name="everyone", limit_usd=10, per=None),
    )
    g.reserve(ACME, "d", Decimal("0.8"))
    with pytest.raises(BudgetExhaustedError, match="'tenant'"):
        g.reserve(ACME, "d", Decimal("0.5"))
    assert spent(g, ACME) == {
        "everyone": (Decimal(0), Decimal("0.8")),
        "tenant": (Decimal(0), Decimal("0.8")),
    }


def test_tenants_and_tasks_have_their_own_accounts() -> None:
    g = gate(
        Budget(name="tenant", per="tenant", limit_usd=1),
        Budget(name="task", limit_usd=5, per="task"),
    )
    g.settle(g.reserve(ACME, "d", 1), 1)
    g.settle(g.reserve(GLOBEX, "d", 1), 1)  # acme's exhaustion does not touch globex
    with pytest.raises(BudgetExhaustedError):
        g.reserve(ACME, "d", Decimal("0.01"))
    assert spent(g, CallContext("other-task", {"tenant": "initech"})) == {
        "task": (Decimal(0), Decimal(0)),
        "tenant": (Decimal(0), Decimal(0)),
    }
    assert spent(g, GLOBEX)["task"] == (Decimal(2), Decimal(0))


def test_a_new_window_starts_from_zero() -> None:
    now = [NOON]
    g = BudgetGate([Budget(name="tenant", per="tenant", limit_usd=1)], clock=lambda: now[0])
    g.settle(g.reserve(ACME, "d", 1), 1)
    with pytest.raises(BudgetExhaustedError):
        g.reserve(ACME, "d", Decimal("0.1"))
    now[0] += 86400
    g.reserve(ACME, "d", Decimal("0.1"))
    assert g.status(ACME)[0].window == "2026-12-05"


def test_a_lease_that_ran_out_stops_holding_the_budget() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1), lease_seconds=0.05)
    g.reserve(ACME, "d", Decimal("0.9"))  # never settled: its process "died"
    with pytest.raises(BudgetExhaustedError):
        g.reserve(ACME, "d", Decimal("0.5"))
    time.sleep(0.1)
    late = g.reserve(ACME, "d", Decimal("0.5"))
    assert spent(g, ACME)["tenant"] == (Decimal(0), Decimal("0.5"))
    g.settle(late, Decimal("0.4"))


def test_a_settlement_after_the_lease_ran_out_still_counts_its_cost() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1), lease_seconds=0.05)
    slow = g.reserve(ACME, "d", Decimal("0.5"))
    time.sleep(0.1)
    g.reserve(ACME, "d", Decimal("0.6"))  # reclaims the slow call's lease
    with pytest.warns(BudgetLeaseExpiredWarning):
        g.settle(slow, Decimal("0.3"))
    assert spent(g, ACME)["tenant"] == (Decimal("0.3"), Decimal("0.6"))


async def test_a_call_that_outlived_its_lease_says_how_to_lengthen_it() -> None:
    # The call held nothing for its last stretch, so concurrent calls could take the
    # room it needed; nothing said so, nor that the lease can be set longer.
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1), lease_seconds=0.05)
    slow, failed = g.reserve(ACME, "openai/gpt-4o", 0.5), g.reserve(ACME, "d", 0.1)
    quick = g.reserve(ACME, "d", 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g.settle(quick, 0.1)  # within its lease: no warning
    time.sleep(0.1)
    with pytest.warns(BudgetLeaseExpiredWarning) as warned:
        await g.asettle(slow, Decimal("0.3"))
    message = str(warned[0].message)
    assert "openai/gpt-4o" in message and "0.05 s" in message
    assert "budget_lease_seconds" in message
    with pytest.warns(BudgetLeaseExpiredWarning):
        g.release(failed)
    assert spent(g, ACME)["tenant"] == (Decimal("0.4"), Decimal(0))


def test_downgrade_budgets_say_so_and_downgrade_target_reserves_the_cheapest() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1, on_exhausted="downgrade"))
    g.settle(g.reserve(ACME, "strong", Decimal("0.9")), Decimal("0.9"))
    with pytest.raises(BudgetExhaustedError) as refused:
        g.reserve(ACME, "strong", Decimal("0.5"))
    assert refused.value.downgrade is True
    options = [("strong", Decimal("0.5")), ("cheap", Decimal("0.01")), ("mid", Decimal("0.2"))]
    deployment, reservation = g.downgrade_target(ACME, options)
    assert (deployment, reservation.amount_usd) == ("cheap", Decimal("0.01"))
    with pytest.raises(BudgetExhaustedError) as nothing_fits:
        g.downgrade_target(ACME, [("cheap", Decimal("0.2"))])
    assert nothing_fits.value.downgrade is False


def test_a_refusing_budget_wins_over_a_downgrading_one() -> None:
    g = gate(
        Budget(name="a-refuse", per="tenant", limit_usd=1),
        Budget(name="b-downgrade", limit_usd=1, per=None, on_exhausted="downgrade"),
    )
    g.settle(g.reserve(ACME, "d", 1), 1)
    with pytest.raises(BudgetExhaustedError) as refused:
        g.reserve(ACME, "d", Decimal("0.1"))
    assert (refused.value.budget_name, refused.value.downgrade) == ("a-refuse", False)


def test_soft_threshold_is_reported_once_per_window() -> None:
    events: list[SoftLimitCrossed] = []
    g = gate(
        Budget(name="tenant", per="tenant", limit_usd=1, soft_threshold=0.5),
        on_soft_limit=events.append,
    )
    assert g.settle(g.reserve(ACME, "d", 1), Decimal("0.4")).soft_limits_crossed == ()
    with pytest.warns(BudgetSoftLimitWarning, match=r"'tenant' \(tenant=acme\) has spent \$0.6"):
        settlement = g.settle(g.reserve(ACME, "d", Decimal("0.5")), Decimal("0.2"))
    assert [event.label for event in settlement.soft_limits_crossed] == ["tenant[tenant=acme]"]
    g.settle(g.reserve(ACME, "d", Decimal("0.1")), Decimal("0.1"))  # past it: no new report
    assert [(e.budget, e.scope, e.spent_usd, e.threshold) for e in events] == [
        ("tenant", "tenant=acme", Decimal("0.6"), 0.5)
    ]


def test_budget_names_must_be_unique_and_leases_positive() -> None:
    with pytest.raises(ConfigError, match="unique"):
        gate(Budget(name="b", limit_usd=1), Budget(name="b", limit_usd=2))
    with pytest.raises(ConfigError, match="lease_seconds"):
        gate(lease_seconds=0)


@pytest.mark.parametrize("lease", [float("nan"), float("inf")])
def test_a_lease_that_never_runs_out_is_refused(lease: float) -> None:
    # A NaN deadline is never reached (in memory) and breaks Redis's millisecond lease
    # with a ValueError at every reservation; an infinite one never frees a dead process's
    # reservation: both would break the README's promise that a lease runs out.
    with pytest.raises(ConfigError, match="finite"):
        gate(Budget(name="b", limit_usd=1), lease_seconds=lease)


def test_negative_or_non_finite_amounts_are_bugs() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    with pytest.raises(ValueError, match="worst_case_usd"):
        g.reserve(ACME, "d", Decimal(-1))
    with pytest.raises(ValueError, match="cost_usd"):
        g.settle(g.reserve(ACME, "d", 0.1), float("nan"))


def test_without_budgets_a_reservation_holds_nothing() -> None:
    g = gate()
    reservation = g.reserve(ACME, "d", Decimal(5))
    assert reservation.claims == ()
    assert g.settle(reservation, Decimal(5)).counted_usd == Decimal(5)
    assert g.status(ACME) == []


def test_null_gate_allows_everything() -> None:
    g = NullBudgetGate()
    reservation = g.reserve(ACME, "d", Decimal(1000))
    assert g.settle(reservation, Decimal(1000)).counted_usd == Decimal(0)
    assert g.charge(ACME, "judge", Decimal(1)).counted_usd == Decimal(0)
    assert g.acquire_rate("d", 10**9).granted
    assert g.status(ACME) == []
    with pytest.raises(ValueError, match="never downgrades"):
        g.downgrade_target(ACME, [("d", 1)])


async def test_async_gate_matches_the_sync_one() -> None:
    g = gate(Budget(name="tenant", per="tenant", limit_usd=1))
    reservation = await g.areserve(ACME, "d", Decimal("0.6"))
    with pytest.raises(BudgetExhaustedError):
        await g.areserve(ACME, "d", Decimal("0.6"))
    await g.asettle(reservation, Decimal("0.5"))
    await g.arelease(await g.areserve(ACME, "d", Decimal("0.5")))
    assert await g.astatus(ACME) == [
        BudgetStatus(
            budget="tenant",
            scope="tenant=acme",
            window="2026-12-04",
            spent_usd=Decimal("0.5"),
            reserved_usd=Decimal(0),
            limit_usd=Decimal(1),
            reset_at=datetime(2026, 12, 5, tzinfo=UTC),
        )
    ]
    assert (await g.astatus(ACME))[0].remaining_usd == Decimal("0.5")


def test_the_gate_without_caller_budgets_shares_the_store_and_keeps_global_and_task_ones() -> None:
    g = gate(
        Budget(name="global", limit_usd=1, per=None),
        Budget(name="per-task", limit_usd=1, per="task"),
        Budget(name="tenant", limit_usd=1, per="tenant"),
    )
    seen: list[list[BudgetStatus]] = []
    g.on_standings(seen.append)
    shadow = g.without_caller_budgets()
    assert isinstance(shadow, BudgetGate) and shadow.store is g.store
    assert [b.name for b in shadow.budgets] == ["global", "per-task"]
    shadow.settle(shadow.reserve(CallContext("chat"), "d", Decimal("0.5")), Decimal("0.25"))
    assert spent(g, ACME) == {
        "global": (Decimal("0.25"), Decimal(0)),
        "per-task": (Decimal("0.25"), Decimal(0)),
        "tenant": (Decimal(0), Decimal(0)),  # not the caller's spend
    }
    assert [s.budget for s in seen[-1]] == ["global", "per-task"]  # the router's gauge sees it
    only_tenants = gate(Budget(name="tenant", limit_usd=1, per="tenant"))
    assert isinstance(only_tenants.without_caller_budgets(), NullBudgetGate)
    assert NullBudgetGate().without_caller_budgets().enabled is False
