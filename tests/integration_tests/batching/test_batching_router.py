"""ItemBatcher through RoutedChatModel: routed by task, costs per item add up to the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_openai import ChatOpenAI

from langchain_costrouter import (
    ModelPrice,
    PriceTable,
    PromptCompressor,
    RetryPolicy,
    RoutedChatModel,
)
from langchain_costrouter.batching import ItemBatcher, batch_classify
from langchain_costrouter.batching.testing import batch_responder
from langchain_costrouter.ledger import InMemoryLedger
from langchain_costrouter.testing import CONTEXT_LENGTH_EXCEEDED, Fault, LocalOpenAIServer, Reply


class _StartSpy(BaseCallbackHandler):
    def __init__(self) -> None:
        self.metadata: list[dict[str, Any]] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.metadata.append(kwargs.get("metadata") or {})


def test_batches_are_routed_and_priced_by_the_router(
    openai_server: LocalOpenAIServer, chat: ChatOpenAI
) -> None:
    openai_server.set_responder(batch_responder(lambda item: "spam" if "buy" in item else "ham"))
    ledger = InMemoryLedger()
    router = RoutedChatModel(routes={"classification": [chat]}, ledger=ledger)
    items = [f"buy {i}" if i % 3 == 0 else f"hi {i}" for i in range(10)]
    spy = _StartSpy()
    results = batch_classify(
        items,
        ["spam", "ham"],
        model=router,
        task="classification",
        max_items=4,
        json_mode=True,
        config={"callbacks": [spy]},
    )
    assert [r.value for r in results] == ["spam" if "buy" in i else "ham" for i in items]
    assert sorted(m["batch_size"] for m in spy.metadata) == [2, 4, 4]
    assert {m["task"] for m in spy.metadata} == {"classification"}
    rows = ledger.rows()
    assert [row.task for row in rows] == ["classification"] * 3
    ledger_total = sum(float(row.cost_usd or 0) for row in rows)
    assert ledger_total > 0
    assert abs(sum(r.cost_usd or 0 for r in results) - ledger_total) < 1e-12
    assert all(
        e.body and e.body["response_format"] == {"type": "json_object"}
        for e in openai_server.requests
    )


@pytest.mark.parametrize(
    "fault",
    [Fault("400", code=CONTEXT_LENGTH_EXCEEDED), Fault("400", message="item 3 is not allowed")],
    ids=["overflow", "bad-request"],
)
def test_a_batch_the_route_cannot_take_is_halved_as_without_a_router(
    openai_server: LocalOpenAIServer, chat: ChatOpenAI, fault: Fault
) -> None:
    """The router turns an overflow into AllTiersFailedError and a 400 into ProviderError:
    still errors a smaller batch can cure, so the items are re-sent in halves, not failed."""
    openai_server.script([fault])
    openai_server.set_responder(batch_responder(lambda item: "ham"))
    router = RoutedChatModel(routes={"classification": [chat]})
    items = [f"hi {i}" for i in range(4)]
    results = batch_classify(items, ["spam", "ham"], model=router, task="classification")
    assert [r.value for r in results] == ["ham"] * 4
    assert [r.calls for r in results] == [2] * 4
    assert openai_server.request_count() == 3  # one batch of 4, then two of 2


@pytest.mark.parametrize("status", ["500", "400"])
def test_item_costs_add_up_to_the_ledger_when_a_routed_batch_fails(
    openai_server: LocalOpenAIServer, chat: ChatOpenAI, status: str
) -> None:
    """A routed call that raises may have paid already (here its prompt's compressor):
    the error's attempts say what, whether every tier failed (500) or the provider
    rejected the request (400, fatal: not retried nor failed over), and the items that
    rode in the call share it."""

    def respond(body: dict[str, Any]) -> Reply:
        if "You compress prompts" in str(body["messages"][0]["content"]):
            return Reply("Classify each item as spam or ham.")
        return Reply("{}")

    openai_server.set_responder(respond)
    openai_server.script([Fault(status)], model="answer-model")
    answer_model = ChatOpenAI(
        model="answer-model", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    compressor = PromptCompressor(chat, strategies=("llm",), min_tokens=5)
    ledger = InMemoryLedger()
    router = RoutedChatModel(
        routes={"classification": [answer_model]},
        compressors={"*": compressor},
        ledger=ledger,
        prices=PriceTable(
            overrides={"answer-model": ModelPrice(input_per_mtok=1, output_per_mtok=2)}
        ),
        retry=RetryPolicy(max_retries=0),
    )
    instruction = "Please read each item with great care and then classify it. " * 4
    results = batch_classify(
        ["hi 0", "hi 1"],
        ["spam", "ham"],
        model=router,
        task="classification",
        instruction=instruction,
    )
    assert not any(r.ok for r in results)
    ledger_total = sum(float(row.cost_usd or 0) for row in ledger.rows())
    assert ledger_total > 0  # the compressor's call was paid
    assert abs(sum(r.cost_usd or 0 for r in results) - ledger_total) < 1e-12


@pytest.mark.parametrize("json_mode", [True, False])
def test_the_batching_saving_is_the_per_item_calls_the_batch_replaced(
    openai_server: LocalOpenAIServer, chat: ChatOpenAI, json_mode: bool
) -> None:
    """Each item sent alone is the call a batch replaces, response format included: the
    server bills the format beside the messages, per call. A batch of one saves nothing
    (json mode claimed -$0.0000175, its 7 tokens on gpt-4o), and a batch of three saves
    the prompt tokens of its three single calls minus its own, on the reference model."""
    openai_server.set_responder(batch_responder(lambda item: "spam" if "buy" in item else "ham"))
    prices = PriceTable(
        overrides={
            "gpt-4o": ModelPrice(input_per_mtok=2.5, output_per_mtok=10),
            "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.6),
        }
    )
    items = ["buy it now", "hello there", "Grüße aus 東京 🎉"]

    def run(max_items: int) -> tuple[list[Any], list[int]]:
        ledger = InMemoryLedger()
        router = RoutedChatModel(
            routes={"c": [chat]}, ledger=ledger, prices=prices, reference_model="gpt-4o"
        )
        batcher = ItemBatcher(
            router,
            "Classify each mail.",
            ["spam", "ham"],
            task="c",
            json_mode=json_mode,
            max_items=max_items,
        )
        openai_server.reset()
        openai_server.set_responder(
            batch_responder(lambda item: "spam" if "buy" in item else "ham")
        )
        results = batcher.with_config(max_concurrency=1).invoke(items)
        assert [r.ok for r in results] == [True] * 3
        return ledger.rows(), [entry.prompt_tokens for entry in openai_server.requests]

    alone_rows, alone_tokens = run(max_items=1)
    assert [row.batch_size for row in alone_rows] == [1, 1, 1]
    assert [row.saved_batching_usd for row in alone_rows] == [Decimal(0)] * 3
    (batch_row,), (batch_tokens,) = run(max_items=3)
    assert batch_row.batch_size == 3
    replaced = sum(alone_tokens) - batch_tokens
    assert replaced > 0
    assert batch_row.saved_batching_usd == Decimal(replaced) * Decimal("2.5") / 10**6


def test_a_routed_answer_cut_at_the_output_cap_is_halved_not_failed(
    openai_server: LocalOpenAIServer,
) -> None:
    """The router raises an answer the client refused at the output cap as a ProviderError
    (billed and recorded); every item of the batch ended with it, though a smaller batch
    needs a shorter answer. It is halved now, and the items' costs add up to the ledger."""
    openai_server.set_responder(batch_responder(lambda item: "spam" if "buy" in item else "ham"))
    capped = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key="test",
        max_retries=0,
        max_tokens=25,
    )
    ledger = InMemoryLedger()
    router = RoutedChatModel(routes={"classification": [capped]}, ledger=ledger)
    items = [f"buy {i}" if i % 3 == 0 else f"hello {i}" for i in range(12)]
    results = batch_classify(
        items, ["spam", "ham"], model=router, task="classification", json_mode=True
    )
    assert [r.value for r in results] == ["spam" if "buy" in i else "ham" for i in items]
    assert [r.calls for r in results] == [3] * 12
    rows = ledger.rows()
    assert [row.error for row in rows].count("LengthFinishReasonError") == 3
    ledger_total = sum(float(row.cost_usd or 0) for row in rows)
    assert abs(sum(r.cost_usd or 0 for r in results) - ledger_total) < 1e-12
