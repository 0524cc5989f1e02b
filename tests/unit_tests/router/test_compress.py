"""A routed call's compression stage, when its compressor's model is a router too."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_costrouter import (
    CircuitBreakers,
    ModelPrice,
    PriceTable,
    PromptCompressor,
    Route,
    RoutedChatModel,
    Tier,
)
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
    outer_ledger: Ledger, inner_ledger: Ledger, *, cascade: bool = False
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
    )
    return RoutedChatModel(
        routes={"chat": [ScriptedChatModel(model="big", answers=["ok"])]},
        prices=PRICES,
        ledger=outer_ledger,
        compressors={"*": PromptCompressor(inner.with_config(metadata={"task": "compress"}))},
        breakers=CircuitBreakers(),
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
