"""Budgets and rate limits enforced by `RoutedChatModel` itself, in one process and in four.

The router reserves each attempt's worst case before calling (prompt tokens x input price
plus the output cap x output price), settles to the real cost after, and refuses with a
`BudgetExhaustedError` that names the budget, what it spent and when it resets.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest

from langchain_costrouter import (
    Budget,
    ModelPrice,
    PriceTable,
    RateLimit,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.checks import LabelSet
from langchain_costrouter.errors import BudgetExceededError, BudgetExhaustedError
from langchain_costrouter.metadata import BEST_EFFORT_REASON
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.integration_tests.budgets.test_processes import PROCESSES, run_together
from tests.integration_tests.budgets.workers import (
    ANSWER_COST,
    PER_CALL_WORST_CASE,
    PROMPT,
    ROUTED_LIMIT,
    budget_router,
    route_until_refused,
)

ACME = {"metadata": {"tenant": "acme"}}
GLOBEX = {"metadata": {"tenant": "globex"}}


def _spend(
    router: RoutedChatModel, config: dict[str, object]
) -> tuple[Decimal, int, BudgetExhaustedError]:
    spent, calls = Decimal(0), 0
    while True:
        try:
            answer = router.invoke(PROMPT, max_tokens=100, config=config)  # type: ignore[arg-type]
        except BudgetExhaustedError as refusal:
            return spent, calls, refusal
        spent += Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))
        calls += 1


def test_a_tenant_budget_refuses_once_spent_and_leaves_other_tenants_alone() -> None:
    router = budget_router("memory://")
    spent, calls, refusal = _spend(router, ACME)
    assert refusal.budget_name == "acme-daily"
    assert refusal.limit_usd == ROUTED_LIMIT and refusal.reset_at is not None
    assert isinstance(refusal, BudgetExceededError)  # old handlers still catch it
    assert "acme-daily" in str(refusal)
    assert spent == calls * ANSWER_COST
    assert ROUTED_LIMIT - PER_CALL_WORST_CASE < spent <= ROUTED_LIMIT
    other = router.invoke(PROMPT, max_tokens=100, config=GLOBEX)  # type: ignore[arg-type]
    assert other.response_metadata["costrouter"]["status"] == "ok"


async def test_the_async_path_draws_on_the_same_budget() -> None:
    router = budget_router("memory://")
    for _ in range(3):
        await router.ainvoke(PROMPT, max_tokens=100, config=ACME)  # type: ignore[arg-type]
    gate = router._current().stages.cascade.budgets.gate
    (status,) = gate.status(CallContext("chat", {"tenant": "acme"}))
    assert status.spent_usd == 3 * ANSWER_COST
    assert status.reserved_usd == 0  # every reservation settled


def _downgrading_router(*cheap_answers: str, **kwargs: Any) -> RoutedChatModel:
    """A cheap tier checked for Yes/No under a strong one that the budget cannot afford."""
    prices = PriceTable(
        {
            "cheap": ModelPrice(input_per_mtok=1, output_per_mtok=2),
            "strong": ModelPrice(input_per_mtok=100, output_per_mtok=200),
        }
    )
    cheap = ScriptedChatModel(model="cheap", answers=list(cheap_answers))
    route = Route(
        tiers=(
            Tier(Tier.of(cheap).deployments, LabelSet(["Yes", "No"]), 0.5),
            Tier.of(ScriptedChatModel(model="strong", answers=["No"])),
        )
    )
    budget = Budget(name="tight", limit_usd="0.01", on_exhausted="downgrade", soft_threshold=None)
    return RoutedChatModel(routes={"chat": route}, prices=prices, budgets=[budget], **kwargs)


def test_a_downgrade_budget_serves_from_the_cheapest_tier_that_fits() -> None:
    # "Maybe" fails the check; the strong tier's worst case is over the budget, so the
    # call is served by the cheap tier again instead of being refused.
    answer = _downgrading_router("Maybe", "Yes").invoke(PROMPT, max_tokens=100)
    record = answer.response_metadata["costrouter"]
    assert answer.content == "Yes" and record["accepted"]
    assert [a["model"] for a in record["attempts"]] == ["cheap", "cheap"]
    assert record["attempts"][-1]["downgraded_by"] == "tight"


def test_a_downgraded_answer_must_pass_the_check_of_the_tier_it_came_from() -> None:
    answer = _downgrading_router("Maybe", "Perhaps").invoke(PROMPT, max_tokens=100)
    record = answer.response_metadata["costrouter"]
    downgraded = record["attempts"][-1]
    assert downgraded["downgraded_by"] == "tight" and downgraded["score"] == 0.0
    assert answer.content == "Perhaps" and record["accepted"] is False  # best effort, said so
    assert downgraded["reason"] == BEST_EFFORT_REASON


def test_a_downgrade_keeps_to_the_rate_limit_of_the_deployment_it_goes_to() -> None:
    # The strong tier's rate slot was taken, then the budget sent the call to the cheap
    # deployment, whose own limit (1 request a minute, spent by the first attempt) was
    # never asked: a downgrade went past the limit the provider enforces with a 429.
    router = _downgrading_router("Maybe", "Yes", rate_limits={"scripted/cheap": RateLimit(rpm=1)})
    answer = router.invoke(PROMPT, max_tokens=100)
    record = answer.response_metadata["costrouter"]
    served = [a["model"] for a in record["attempts"] if a.get("usage")]
    assert served == ["cheap"]  # once: the minute's one request
    assert answer.content == "Maybe" and record["accepted"] is False  # best effort, said so


def test_a_shared_rate_limit_fails_over_before_the_provider_says_429() -> None:
    first = ScriptedChatModel(model="first", answers=["first"])
    second = ScriptedChatModel(model="second", answers=["second"])
    prices = PriceTable(
        {name: ModelPrice(input_per_mtok=1, output_per_mtok=1) for name in ("first", "second")}
    )
    router = RoutedChatModel(
        routes={"chat": [[first, second]]},
        prices=prices,
        rate_limits={"scripted/first": RateLimit(rpm=2)},
    )
    served = [router.invoke("hi").content for _ in range(3)]
    assert served == ["first", "first", "second"]
    assert first.calls == 2


@pytest.mark.services
@pytest.mark.slow
def test_four_processes_routing_through_one_budget_never_overspend(shared_store_url: str) -> None:
    runs = run_together(route_until_refused, [(shared_store_url, i) for i in range(PROCESSES)])
    total = sum((run["spent"] for run in runs), Decimal(0))
    assert total <= ROUTED_LIMIT  # every attempt reserved its worst case first
    assert total >= Decimal("0.8") * ROUTED_LIMIT
    assert all(run["calls"] > 0 for run in runs)


async def test_a_cancelled_call_settles_its_reservation_to_what_it_was_billed() -> None:
    slow = ScriptedChatModel(model="cheap", responder=lambda _: time.sleep(0.5) or "No")
    router = budget_router("memory://", routes={"chat": [slow]})
    call = asyncio.create_task(router.ainvoke(PROMPT, max_tokens=100, config=ACME))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    gate = router._current().stages.cascade.budgets.gate
    (status,) = gate.status(CallContext("chat", {"tenant": "acme"}))
    assert status.reserved_usd == 0  # released by the driver, not left to the lease
    assert status.spent_usd == ANSWER_COST - Decimal("0.000002")  # the prompt, no answer


@pytest.mark.services
@pytest.mark.parametrize("on_exhausted", ["refuse", "downgrade"])
def test_a_call_a_budget_refuses_takes_no_rate_slot(any_store_url: str, on_exhausted: str) -> None:
    # The deployment's rate slot was taken before the budget was asked: a refused call,
    # which never reached the provider, used up one of the minute's two requests.
    model = ScriptedChatModel(model="m", answers=["never"])
    router = RoutedChatModel(
        routes={"chat": [model]},
        prices=PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)}),
        budgets=[Budget(name="tiny", limit_usd="0.0001", on_exhausted=on_exhausted)],
        budget_store=any_store_url,
        rate_limits={"scripted/m": RateLimit(rpm=2)},
    )
    with pytest.raises(BudgetExhaustedError, match="'tiny'"):
        router.invoke(PROMPT, max_tokens=100)  # a worst case of about $0.000105
    gate = router._current().stages.cascade.budgets.gate
    assert [gate.acquire_rate("scripted/m", 1, max_wait=0).granted for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert model.calls == 0


def test_a_downgraded_call_takes_no_slot_of_the_deployment_it_was_moved_from() -> None:
    router = _downgrading_router("Maybe", "Yes", rate_limits={"scripted/strong": RateLimit(rpm=1)})
    answer = router.invoke(PROMPT, max_tokens=100)
    assert answer.response_metadata["costrouter"]["attempts"][-1]["downgraded_by"] == "tight"
    gate = router._current().stages.cascade.budgets.gate
    assert gate.acquire_rate("scripted/strong", 1, max_wait=0).granted  # never called


@pytest.mark.services
def test_a_deployment_its_rate_limit_skips_holds_no_money(any_store_url: str) -> None:
    first = ScriptedChatModel(model="first", answers=["first"])
    second = ScriptedChatModel(model="second", answers=["second"])
    prices = PriceTable(
        {name: ModelPrice(input_per_mtok=1, output_per_mtok=1) for name in ("first", "second")}
    )
    router = RoutedChatModel(
        routes={"chat": [[first, second]]},
        prices=prices,
        budgets=[Budget(name="daily", limit_usd=1, per=None)],
        budget_store=any_store_url,
        rate_limits={"scripted/first": RateLimit(rpm=1)},
    )
    answers = [router.invoke("hi", max_tokens=100) for _ in range(2)]
    assert [a.content for a in answers] == ["first", "second"]
    costs = sum(Decimal(repr(a.response_metadata["costrouter"]["cost_usd"])) for a in answers)
    gate = router._current().stages.cascade.budgets.gate
    (status,) = gate.status(CallContext("chat"))
    assert (status.spent_usd, status.reserved_usd) == (costs, 0)  # the skip gave its hold back
