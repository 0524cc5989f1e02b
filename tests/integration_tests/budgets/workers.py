"""Worker processes of the cross-process budget tests (importable, so spawn can run them)."""

from __future__ import annotations

import os
import random
import time
from decimal import Decimal
from typing import Any

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext, RateLimit
from langchain_costrouter.errors import BudgetExhaustedError

LIMIT = Decimal(1)
WORST_CASE = Decimal("0.02")
ACME = CallContext("chat", {"tenant": "acme"})
GLOBEX = CallContext("chat", {"tenant": "globex"})
TENANT = Budget(name="tenant", per="tenant", limit_usd=LIMIT, soft_threshold=None)
EVERYONE = Budget(name="everyone", limit_usd=100, per=None, soft_threshold=None)
RATE_LIMITS = {
    "by-requests": RateLimit(rpm=20),
    "by-tokens": RateLimit(tpm=4000),
    "queued": RateLimit(rpm=20),
}


def spend_until_refused(url: str, budgets: list[Budget], seed: int, barrier: Any) -> dict[str, Any]:
    """Make calls for acme, each costing 30-100% of its worst case, until one is refused;
    then one call for globex. Returns when each call settled and what the refusal saw."""
    gate = BudgetGate(budgets, url)
    rng = random.Random(seed)
    settled: list[tuple[float, Decimal]] = []
    gate.status(ACME)  # connect and create the tables before the race, not inside it
    barrier.wait()
    while True:
        try:
            reservation = gate.reserve(ACME, "d", WORST_CASE)
        except BudgetExhaustedError as refusal:
            refused_spent = refusal.spent_usd  # as the store saw it when it refused
            break
        cost = WORST_CASE * rng.randint(30, 100) / 100
        # The provider call: 0-20 ms, so the race lasts long enough for every process to
        # win SQLite's write lock (at 0-2 ms one could back off until the budget was gone).
        time.sleep(rng.random() * 0.02)
        gate.settle(reservation, cost)
        settled.append((time.time(), cost))
    globex = gate.reserve(GLOBEX, "d", WORST_CASE)
    gate.settle(globex, WORST_CASE)
    return {"settled": settled, "refused_spent": refused_spent}


def reserve_and_hang(url: str, amount: Decimal, lease_seconds: float, ready: Any) -> None:
    """Hold a reservation and never settle it: the test SIGKILLs this process."""
    gate = BudgetGate([TENANT], url, lease_seconds=lease_seconds)
    gate.reserve(ACME, "d", amount)
    ready.put(os.getpid())
    time.sleep(600)


def acquire_rates(url: str, attempts: int, barrier: Any) -> dict[str, Any]:
    """Ask each rate-limited deployment ``attempts`` times as fast as possible."""
    gate = BudgetGate(store=url, rate_limits=RATE_LIMITS)
    barrier.wait()
    started = time.time()
    immediate = {
        name: sum(gate.acquire_rate(name, 200, max_wait=0).granted for _ in range(attempts))
        for name in ("by-requests", "by-tokens")
    }
    queued = []
    for _ in range(attempts):
        grant = gate.acquire_rate("queued", 1)
        # The store computed the wait at some moment before this one: the slot is no
        # later than now + wait (a loaded machine can delay a process between the two).
        queued.append((grant.granted, time.time() + grant.wait_seconds))
    return {"started": started, "ended": time.time(), "immediate": immediate, "queued": queued}


ROUTED_LIMIT = Decimal("0.05")
PROMPT = "Is this message spam? " * 100


def _prompt_tokens() -> int:
    from langchain_core.messages import HumanMessage

    from langchain_costrouter.tokens import count_messages

    return count_messages([HumanMessage(PROMPT)])


# The scripted child reports the prompt's own token count and 1 output token ("No");
# the model costs $1 per million input tokens and $2 per million output tokens.
ANSWER_COST = (Decimal(_prompt_tokens()) * 1 + 1 * 2) / 10**6
PER_CALL_WORST_CASE = (Decimal(_prompt_tokens()) * 1 + 100 * 2) / 10**6  # a 100-token cap


def budget_router(url: str, **kwargs: Any) -> Any:
    """A router whose every answer costs exactly `ANSWER_COST`, drawing on a tenant budget."""
    from langchain_costrouter import ModelPrice, PriceTable, RoutedChatModel
    from langchain_costrouter.testing.models import ScriptedChatModel

    child = ScriptedChatModel(model="cheap", answers=["No"])
    prices = PriceTable({"cheap": ModelPrice(input_per_mtok=1, output_per_mtok=2)})
    budget = Budget(name="acme-daily", per="tenant", limit_usd=ROUTED_LIMIT, soft_threshold=None)
    return RoutedChatModel(
        **{"routes": {"chat": [child]}, **kwargs},
        prices=prices,
        budgets=[budget],
        budget_store=url,
    )


def route_until_refused(url: str, seed: int, barrier: Any) -> dict[str, Any]:
    """Call a router with a tenant budget until a call is refused; the spend it saw."""
    from langchain_costrouter.testing.models import ScriptedChatModel

    rng = random.Random(seed)
    # The provider call takes 0-20 ms, as in `spend_until_refused`: answered at once, one
    # process could back off from SQLite's write lock until the budget was gone.
    child = ScriptedChatModel(
        model="cheap", responder=lambda _: time.sleep(rng.random() * 0.02) or "No"
    )
    router = budget_router(url, routes={"chat": [child]})
    spent, calls = Decimal(0), 0
    # Build the router and open its budget store before the race: the budget lasts about
    # 80 calls, and a process still starting up when they are spent would get none.
    router._current().stages.cascade.budgets.gate.status(ACME)
    barrier.wait()
    while True:
        try:
            answer = router.invoke(PROMPT, max_tokens=100, config={"metadata": {"tenant": "acme"}})
        except BudgetExhaustedError:
            break
        spent += Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))
        calls += 1
    return {"spent": spent, "calls": calls, "seed": seed}
