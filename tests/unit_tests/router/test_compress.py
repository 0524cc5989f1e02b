"""A routed call's compression stage, when its compressor's model is a router too."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda

from langchain_costrouter import (
    CircuitBreakers,
    ModelPrice,
    PriceTable,
    PromptCompressor,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
from langchain_costrouter.budgets.memory_store import MemoryStore
from langchain_costrouter.budgets.store import BudgetStore
from langchain_costrouter.checks import LabelSet
from langchain_costrouter.compression.scripted import (
    ScriptedCompressorModel,
    keep_leading_sentences,
)
from langchain_costrouter.ledger import InMemoryLedger, Ledger, open_ledger
from langchain_costrouter.testing.models import ScriptedChatModel

PROMPT = (
    Path(__file__).parents[2] / "data" / "compression" / "bloated_system_prompt.md"
).read_text()
PRICES = PriceTable(
    {
        "scripted-compressor": ModelPrice(input_per_mtok=1, output_per_mtok=2),
        "draft": ModelPrice(input_per_mtok=1, output_per_mtok=1),
        "big": ModelPrice(input_per_mtok=10, output_per_mtok=20),
    }
)


def _routers(
    outer_ledger: Ledger,
    inner_ledger: Ledger,
    *,
    cascade: bool = False,
    outer_budgets: dict[str, Any] | None = None,
    inner_budgets: dict[str, Any] | None = None,
) -> RoutedChatModel:
    compressor = Tier.of(ScriptedCompressorModel(rewrite=keep_leading_sentences(0.5)))
    tiers = (compressor,)
    if cascade:  # a draft tier whose answer the check refuses: paid, then escalated
        draft = ScriptedChatModel(model="draft", answers=["not a label"])
        tiers = (Tier(Tier.of(draft).deployments, LabelSet(["never"]), 0.5), compressor)
    inner = RoutedChatModel(
        routes={"compress": Route(tiers=tiers)},
        prices=PRICES,
        ledger=inner_ledger,
        breakers=CircuitBreakers(),
        **(inner_budgets or {}),
    )
    return RoutedChatModel(
        routes={"chat": [ScriptedChatModel(model="big", answers=["ok"])]},
        prices=PRICES,
        ledger=outer_ledger,
        compressors={"*": PromptCompressor(inner.with_config(metadata={"task": "compress"}))},
        breakers=CircuitBreakers(),
        **(outer_budgets or {}),
    )


def _ask(router: RoutedChatModel) -> dict[str, Any]:
    answer = router.invoke([SystemMessage(PROMPT), HumanMessage("Hi")], task="chat")
    record: dict[str, Any] = answer.response_metadata["costrouter"]
    return record


def _total(ledger: Ledger) -> Decimal:
    ledger.flush()
    return sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))


@pytest.mark.parametrize("cascade", [False, True], ids=["one-tier", "escalated"])
def test_a_routed_compressor_on_the_same_ledger_is_recorded_once(cascade: bool) -> None:
    ledger = InMemoryLedger()
    record = _ask(_routers(ledger, ledger, cascade=cascade))
    compressor = [a for a in record["attempts"] if a.get("role") == "compressor"]
    assert [a["model"] for a in compressor] == (
        ["draft", "scripted-compressor"] if cascade else ["scripted-compressor"]
    )
    rows = ledger.rows()
    assert [(row.task, row.role) for row in rows] == [("chat", "compressor")] * len(compressor) + [
        ("chat", "answer")
    ]
    assert _total(ledger) == Decimal(repr(record["cost_usd"]))


def test_two_routers_on_one_sqlite_file_record_the_compressor_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    outer, inner = open_ledger(url), open_ledger(url)
    try:
        record = _ask(_routers(outer, inner))
        outer.flush()
        assert _total(inner) == _total(outer) == Decimal(repr(record["cost_usd"]))
        assert [row.role for row in outer.rows()] == ["compressor", "answer"]
    finally:
        outer.close()
        inner.close()


def test_a_routed_compressor_on_its_own_ledger_still_records_its_call() -> None:
    outer, inner = InMemoryLedger(), InMemoryLedger()
    record = _ask(_routers(outer, inner))
    (compressor,) = [a for a in record["attempts"] if a.get("role") == "compressor"]
    (row,) = inner.rows()
    assert (row.task, row.model) == ("compress", "scripted-compressor")
    assert row.cost_usd == Decimal(repr(compressor["cost_usd"]))
    assert _total(outer) == Decimal(repr(record["cost_usd"]))


async def test_an_awaited_call_records_its_routed_compressor_once() -> None:
    ledger = InMemoryLedger()
    router = _routers(ledger, ledger)
    answer = await router.ainvoke([SystemMessage(PROMPT), HumanMessage("Hi")], task="chat")
    assert [(row.task, row.role) for row in ledger.rows()] == [
        ("chat", "compressor"),
        ("chat", "answer"),
    ]
    assert _total(ledger) == Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))


def _spent(store: BudgetStore | str, name: str = "daily") -> Decimal:
    gate = BudgetGate([Budget(name=name, limit_usd=10, per=None)], store)
    (status,) = gate.status(CallContext(task="chat"))
    return status.spent_usd


def _budgeted(store: BudgetStore | str, name: str = "daily") -> dict[str, Any]:
    return {"budgets": [Budget(name=name, limit_usd=10, per=None)], "budget_store": store}


@pytest.mark.parametrize("cascade", [False, True], ids=["one-tier", "escalated"])
def test_a_routed_compressor_on_the_same_budget_store_is_counted_once(cascade: bool) -> None:
    store, ledger = MemoryStore(), InMemoryLedger()
    budgeted = _budgeted(store)
    router = _routers(
        ledger, ledger, cascade=cascade, outer_budgets=budgeted, inner_budgets=budgeted
    )
    record = _ask(router)
    assert _spent(store) == _total(ledger) == Decimal(repr(record["cost_usd"]))


async def test_two_routers_on_one_sqlite_budget_store_count_an_awaited_call_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'budgets.sqlite'}"
    ledger = InMemoryLedger()  # each router opens its own store on the same file
    router = _routers(ledger, ledger, outer_budgets=_budgeted(url), inner_budgets=_budgeted(url))
    answer = await router.ainvoke([SystemMessage(PROMPT), HumanMessage("Hi")], task="chat")
    cost = Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))
    assert _spent(url) == _total(ledger) == cost


def test_the_callers_other_budgets_still_count_a_routed_compressor() -> None:
    store, ledger = MemoryStore(), InMemoryLedger()
    router = _routers(
        ledger,
        ledger,
        outer_budgets=_budgeted(store, "outer"),
        inner_budgets=_budgeted(store, "inner"),
    )
    record = _ask(router)
    compressor = sum(
        Decimal(repr(a["cost_usd"])) for a in record["attempts"] if a.get("role") == "compressor"
    )
    assert compressor > 0
    assert _spent(store, "outer") == Decimal(repr(record["cost_usd"]))
    assert _spent(store, "inner") == compressor


def _tenant_spent(store: BudgetStore | str, tenant: str | None) -> Decimal:
    gate = BudgetGate([Budget(name="t", limit_usd=10, per="tenant")], store)
    metadata = {} if tenant is None else {"tenant": tenant}
    (status,) = gate.status(CallContext(task="chat", metadata=metadata))
    return status.spent_usd


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_a_routed_compressor_draws_on_the_callers_tenant_only(
    store_kind: str, tmp_path: Path
) -> None:
    """The compressor router's call carries the caller's run metadata, so its per-tenant
    budget reserves in the caller's account (and the caller does not count it again);
    no dollar lands in the ``tenant=<none>`` account every tenant shares."""
    store: BudgetStore | str = (
        MemoryStore() if store_kind == "memory" else f"sqlite:///{tmp_path / 'budgets.sqlite'}"
    )
    ledger = InMemoryLedger()
    per_tenant = {"budgets": [Budget(name="t", limit_usd=10, per="tenant")], "budget_store": store}
    router = _routers(ledger, ledger, outer_budgets=per_tenant, inner_budgets=per_tenant)
    messages = [SystemMessage(PROMPT), HumanMessage("Hi")]
    acme = {"metadata": {"tenant": "acme"}}
    first = router.invoke(messages, task="chat", config=acme)  # type: ignore[arg-type]
    second = await router.ainvoke(messages, task="chat", config=acme)  # type: ignore[arg-type]
    costs = [Decimal(repr(a.response_metadata["costrouter"]["cost_usd"])) for a in (first, second)]
    assert all(
        a.response_metadata["costrouter"]["compression_tokens_saved"] > 0 for a in (first, second)
    )
    assert _tenant_spent(store, "acme") == sum(costs) == _total(ledger)
    assert _tenant_spent(store, None) == 0


def test_a_routed_compressor_in_a_chain_keeps_its_own_task() -> None:
    """In a chain whose metadata names the caller's task, the compressor router still
    serves its own task (the caller's label describes the caller's call, not its side
    calls): the prompt is compressed, and the tenant's account counts it once."""
    store, ledger = MemoryStore(), InMemoryLedger()
    per_tenant = {"budgets": [Budget(name="t", limit_usd=10, per="tenant")], "budget_store": store}
    router = _routers(ledger, ledger, outer_budgets=per_tenant, inner_budgets=per_tenant)
    chain = RunnableLambda(lambda messages: messages) | router
    answer = chain.invoke(
        [SystemMessage(PROMPT), HumanMessage("Hi")],
        config={"metadata": {"tenant": "acme", "task": "chat"}},
    )
    record = answer.response_metadata["costrouter"]
    assert [a["model"] for a in record["attempts"] if a.get("role") == "compressor"] == [
        "scripted-compressor"
    ]
    assert _tenant_spent(store, "acme") == Decimal(repr(record["cost_usd"]))
    assert _tenant_spent(store, None) == 0


@pytest.mark.parametrize("label_in", ["metadata", "configurable"])
def test_a_compressor_router_on_its_default_task_ignores_the_chains_label(label_in: str) -> None:
    """A compressor router that serves its ``default_task`` (no label of its own) in a
    chain whose config labels the caller's call: the label reaches the side call neither
    through the chain's config nor through the run's inherited metadata, so the prompt is
    compressed instead of the side call failing on the caller's route and the prompt
    silently going out whole."""
    compressor = Tier.of(ScriptedCompressorModel(rewrite=keep_leading_sentences(0.5)))
    inner = RoutedChatModel(
        routes={"compress": Route(tiers=(compressor,))},
        default_task="compress",
        prices=PRICES,
        breakers=CircuitBreakers(),
    )
    router = RoutedChatModel(
        routes={"chat": [ScriptedChatModel(model="big", answers=["ok"])]},
        prices=PRICES,
        compressors={"*": PromptCompressor(inner)},
        breakers=CircuitBreakers(),
    )
    config: dict[str, Any] = {label_in: {"task": "chat"}}
    chain = RunnableLambda(lambda messages: messages) | router
    answer = chain.invoke([SystemMessage(PROMPT), HumanMessage("Hi")], config=config)  # type: ignore[arg-type]
    record = answer.response_metadata["costrouter"]
    assert record["task"] == "chat"
    assert record["compression_tokens_saved"] > 0
    assert [a["model"] for a in record["attempts"]] == ["scripted-compressor", "big"]
