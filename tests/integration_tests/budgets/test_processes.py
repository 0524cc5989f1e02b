"""Budgets and rate limits shared by four processes, on SQLite, Redis and Postgres.

The guarantees under concurrency: spend never passes the limit (every call reserves its
worst case first), refusals start only once most of the limit is spent, one tenant's
exhaustion leaves another's budget alone, a SIGKILLed worker's reservation is freed when
its lease runs out, and a rate limit holds across processes.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from langchain_costrouter.budgets import BudgetGate
from langchain_costrouter.errors import BudgetExhaustedError
from tests.integration_tests.budgets.workers import (
    ACME,
    EVERYONE,
    GLOBEX,
    LIMIT,
    TENANT,
    WORST_CASE,
    acquire_rates,
    reserve_and_hang,
    spend_until_refused,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
PROCESSES = 4
SPAWN = multiprocessing.get_context("spawn")


def run_together(target: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args[i], barrier)`` in one process each, started at one barrier."""
    barrier = SPAWN.Barrier(len(args))
    results: Any = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_report, args=(target, (*a, barrier), i, results))
        for i, a in enumerate(args)
    ]
    for process in processes:
        process.start()
    answers = dict(results.get(timeout=240) for _ in processes)
    for process in processes:
        process.join(30)
    failures = [str(a) for a in answers.values() if isinstance(a, BaseException)]
    assert not failures, "\n".join(failures)  # whole: pytest would cut the list's repr
    return [answers[i] for i in range(len(args))]


def _report(target: Callable[..., Any], args: tuple[Any, ...], index: int, results: Any) -> None:
    try:
        results.put((index, target(*args)))
    except BaseException as error:
        cause = f" (caused by {error.__cause__!r})" if error.__cause__ is not None else ""
        results.put((index, RuntimeError(f"{type(error).__name__}: {error}{cause}")))


def test_four_processes_never_overspend_and_spend_most_before_refusing(
    shared_store_url: str,
) -> None:
    # Two workers draw on the tenant budget alone, two on it and a global one: the
    # one-statement and the transactional reservation meet on the same account.
    budget_sets = [[TENANT], [TENANT], [TENANT, EVERYONE], [TENANT, EVERYONE]]
    runs = run_together(
        spend_until_refused,
        [(shared_store_url, budgets, i) for i, budgets in enumerate(budget_sets)],
    )
    settled = [entry for run in runs for entry in run["settled"]]
    total = sum((cost for _, cost in settled), Decimal(0))
    assert total <= LIMIT  # never over: every call reserved its worst case first
    assert total <= LIMIT + WORST_CASE  # the bound, a fortiori
    # Spend only grows, so the earliest refusal saw the least of it: every refusal, read
    # from the store's own figures (not the processes' clocks), came after 80% was spent.
    assert min(run["refused_spent"] for run in runs) >= Decimal("0.8") * LIMIT
    assert all(run["settled"] for run in runs)  # every process took part

    gate = BudgetGate([TENANT, EVERYONE], shared_store_url)
    tenant_state = {s.budget: (s.spent_usd, s.reserved_usd) for s in gate.status(ACME)}
    assert tenant_state["tenant"] == (total, Decimal(0))  # the store agrees to the picodollar
    globex = {s.budget: s.spent_usd for s in gate.status(GLOBEX)}
    assert globex["tenant"] == PROCESSES * WORST_CASE  # refused acme, served globex
    by_global_workers = sum((cost for run in runs[2:] for _, cost in run["settled"]), Decimal(0))
    assert globex["everyone"] == by_global_workers + 2 * WORST_CASE  # both tenants, once each
    gate.close()


def test_a_sigkilled_workers_reservation_is_freed_when_its_lease_runs_out(
    shared_store_url: str,
) -> None:
    lease_seconds = 3.0
    ready: Any = SPAWN.Queue()
    workers = [
        SPAWN.Process(
            target=reserve_and_hang, args=(shared_store_url, Decimal("0.2"), lease_seconds, ready)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    every_lease_ran_out_at = time.time() + lease_seconds + 0.5  # each reserved before "ready"
    for worker in workers:
        worker.kill()  # SIGKILL: no finally, no atexit, no settlement
        worker.join(30)
        assert worker.exitcode == -9
    gate = BudgetGate([TENANT], shared_store_url)
    with pytest.raises(BudgetExhaustedError) as held:
        gate.reserve(ACME, "d", Decimal("0.5"))
    assert held.value.reserved_usd == Decimal("0.8")  # the dead workers' reservations
    reservation = _reserve_when_freed(gate, Decimal("0.5"), give_up_after=lease_seconds + 30)
    time.sleep(max(0.0, every_lease_ran_out_at - time.time()))
    assert [(s.spent_usd, s.reserved_usd) for s in gate.status(ACME)] == [
        (Decimal(0), Decimal("0.5"))
    ]
    gate.release(reservation)


def _reserve_when_freed(gate: BudgetGate, amount: Decimal, give_up_after: float) -> Any:
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            return gate.reserve(ACME, "d", amount)
        except BudgetExhaustedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_rate_limits_hold_across_four_processes(shared_store_url: str) -> None:
    attempts = 10
    runs = run_together(acquire_rates, [(shared_store_url, attempts)] * PROCESSES)
    started = min(run["started"] for run in runs)
    elapsed = max(run["ended"] for run in runs) - started
    # by-requests: rpm 20, one request per call. by-tokens: tpm 4000, 200 tokens per call.
    # A full bucket holds a minute's worth (20 calls) and refills 1 call per 3 seconds.
    for name in ("by-requests", "by-tokens"):
        granted = sum(run["immediate"][name] for run in runs)
        assert 20 <= granted <= 20 + elapsed / 3 + 1, (name, granted, elapsed)
    # queued: every call is granted with the wait that keeps it inside the limit, so the
    # k-th call in scheduled order goes no earlier than the bucket allows.
    scheduled = sorted(at for run in runs for granted, at in run["queued"] if granted)
    assert len(scheduled) == PROCESSES * attempts
    for k, at in enumerate(scheduled, start=1):
        assert k <= 20 + (at - started) / 3 + 0.01, (k, at - started)
    assert scheduled[-1] - started >= (PROCESSES * attempts - 20) * 3 - 0.01
