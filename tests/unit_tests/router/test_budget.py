"""A routed call's side calls (its compressor, a quality check's judge) and its budgets.

An unpriced deployment is refused before its call (`WorstCase.usd`: no budget can
reserve an unknown price); a side call is only known to be unpriced once it answered,
so it is refused then, never charged $0.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_costrouter import (
    Budget,
    CircuitBreakers,
    ModelPrice,
    PriceTable,
    PromptCompressor,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.budgets import BudgetGate, CallContext, RateLimit
from langchain_costrouter.budgets.memory_store import MemoryStore
from langchain_costrouter.checks.judge import JudgeCheck
from langchain_costrouter.compression.scripted import (
    ScriptedCompressorModel,
    keep_leading_sentences,
)
from langchain_costrouter.errors import AllTiersFailedError, ConfigError, UnknownPriceWarning
from langchain_costrouter.ledger import InMemoryLedger
from langchain_costrouter.testing.models import ScriptedChatModel

PROMPT = (
    Path(__file__).parents[2] / "data" / "compression" / "bloated_system_prompt.md"
).read_text()
PRICES = PriceTable({"big": ModelPrice(input_per_mtok=10, output_per_mtok=20)})
"""No price for ``scripted-compressor`` nor ``my-judge``."""
DAILY = [Budget(name="daily", limit_usd=10, per=None)]


def _spent(store: MemoryStore) -> Decimal:
    (status,) = BudgetGate(DAILY, store).status(CallContext(task="chat"))
    return status.spent_usd


def _compressed(big: ScriptedChatModel, **budgeting: Any) -> RoutedChatModel:
    compressor = PromptCompressor(ScriptedCompressorModel(rewrite=keep_leading_sentences(0.5)))
    return RoutedChatModel(
        routes={"chat": [big]},
        prices=PRICES,
        compressors={"*": compressor},
        breakers=CircuitBreakers(),
        **budgeting,
    )


def _judged(big: ScriptedChatModel, **budgeting: Any) -> RoutedChatModel:
    judge = JudgeCheck(ScriptedChatModel(model="my-judge", answers=["Rating: [[9]]"]))
    return RoutedChatModel(
        routes={"chat": Route(tiers=(Tier(Tier.of(big).deployments, judge, 0.5),))},
        prices=PRICES,
        breakers=CircuitBreakers(),
        **budgeting,
    )


def test_an_unpriced_compressor_is_refused_before_it_is_called() -> None:
    """As an unpriced deployment is refused before its call (no budget can reserve an
    unknown price), an unpriced compressor model is refused before the side call: refused
    after it, every call would pay for a compression and then fail."""
    store, ledger = MemoryStore(), InMemoryLedger()
    big = ScriptedChatModel(model="big", answers=["ok"])
    router = _compressed(big, budgets=DAILY, budget_store=store, ledger=ledger)
    compressor_model = router.compressors["*"].llm
    with pytest.raises(ConfigError) as refused:
        router.invoke([SystemMessage(PROMPT), HumanMessage("Hi")])
    assert "'scripted-compressor' has no price" in str(refused.value)
    assert "compressor" in str(refused.value) and "ModelPrice" in str(refused.value)
    assert compressor_model.requests == []
    assert big.calls == 0
    assert ledger.rows() == []
    assert _spent(store) == 0


async def test_an_unpriced_judge_is_refused_before_it_is_called() -> None:
    store, ledger = MemoryStore(), InMemoryLedger()
    big = ScriptedChatModel(model="big", answers=["hello"])
    router = _judged(big, budgets=DAILY, budget_store=store, ledger=ledger)
    with pytest.raises(ConfigError) as refused:
        await router.ainvoke("Hi", task="chat")
    assert "'my-judge' has no price" in str(refused.value)
    assert "judge" in str(refused.value)
    ledger.flush()
    (answer,) = ledger.rows()  # the answer was made and is counted; the judge never ran
    assert answer.role == "answer" and answer.cost_usd is not None and answer.cost_usd > 0
    assert _spent(store) == answer.cost_usd


async def test_a_judge_router_with_an_unpriced_model_is_refused_once_it_answered() -> None:
    """A judge that is a router tells its model only in its answer: it is refused then,
    its call in the ledger unpriced, and what is known charged (never $0 for the rest)."""
    store, ledger = MemoryStore(), InMemoryLedger()
    big = ScriptedChatModel(model="big", answers=["hello"])
    judge_router = RoutedChatModel(
        routes={"judge": [ScriptedChatModel(model="my-judge", answers=["Rating: [[9]]"])]},
        default_task="judge",
        prices=PRICES,
        breakers=CircuitBreakers(),
    )
    router = RoutedChatModel(
        routes={
            "chat": Route(tiers=(Tier(Tier.of(big).deployments, JudgeCheck(judge_router), 0.5),))
        },
        prices=PRICES,
        breakers=CircuitBreakers(),
        budgets=DAILY,
        budget_store=store,
        ledger=ledger,
    )
    with pytest.warns(UnknownPriceWarning), pytest.raises(ConfigError, match="'my-judge'"):
        await router.ainvoke("Hi", task="chat")
    ledger.flush()
    answer, judged = ledger.rows()
    assert (judged.role, judged.model, judged.cost_usd) == ("judge", "my-judge", None)
    assert answer.cost_usd is not None and _spent(store) == answer.cost_usd


@pytest.mark.parametrize("build", [_compressed, _judged], ids=["compressor", "judge"])
def test_without_budgets_an_unpriced_side_call_is_served_at_an_unknown_cost(build: Any) -> None:
    router = build(ScriptedChatModel(model="big", answers=["hello"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownPriceWarning)
        answer = router.invoke([SystemMessage(PROMPT), HumanMessage("Hi")], task="chat")
    record = answer.response_metadata["costrouter"]
    assert record["status"] == "ok"
    assert record["cost_usd"] is None  # unknown, never $0


def test_rate_limits_alone_need_no_price_and_reserve_nothing() -> None:
    """Rate limits are not spending limits: a router with rate limits and no budget
    worked out a dollar worst case for every call anyway, so a call to an unpriced
    local model failed with ConfigError ('no budget can reserve its cost'), even with
    the limit on another deployment."""
    local = ScriptedChatModel(model="my-local-llm", answers=["hi", "hi again"])
    priced = ScriptedChatModel(model="gpt-4o-mini", answers=["x"])
    router = RoutedChatModel(
        routes={"chat": [local], "other": [priced]},
        default_task="chat",
        rate_limits={
            "scripted/gpt-4o-mini": RateLimit(rpm=5),
            "scripted/my-local-llm": RateLimit(rpm=1),
        },
    )
    assert router.invoke("hello").content == "hi"
    with pytest.raises(AllTiersFailedError, match="rate limit"):
        router.invoke("hello")  # the local model's one request a minute is taken
