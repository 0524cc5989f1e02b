"""ItemBatcher end to end on an in-process chat model (no sockets)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.prompt_values import StringPromptValue

from langchain_costrouter.batching import InMemoryItemCache, ItemBatcher, batch_classify
from langchain_costrouter.batching.runnable import abatch_classify
from langchain_costrouter.errors import InvalidRequestError
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.unit_tests.batching.fake_models import (
    batch_model,
    batch_sizes,
    honest,
    items_of,
    label_by_keyword,
)

LABELS = ["spam", "ham"]
MAILS = [f"Buy pills {i}" if i % 3 == 0 else f"Meeting at {i}" for i in range(25)]


def test_one_result_per_item_in_order_in_few_calls() -> None:
    model = batch_model()
    results = batch_classify(MAILS, LABELS, model=model, max_items=10)
    assert [r.index for r in results] == list(range(25))
    assert [r.value for r in results] == [label_by_keyword(m) for m in MAILS]
    assert [r.item for r in results] == MAILS
    assert sorted(batch_sizes(model)) == [5, 10, 10]
    assert all(r.ok and r.calls == 1 for r in results)


def test_duplicate_inputs_are_distinct_items() -> None:
    results = batch_classify(["Buy now", "Buy now", "hello"], LABELS, model=batch_model())
    assert [(r.id, r.value) for r in results] == [("i0", "spam"), ("i1", "spam"), ("i2", "ham")]


def test_misbehaving_model_still_gives_every_item_one_result() -> None:
    def sloppy(items: list[tuple[str, Any]]) -> str:
        answers = json.loads(honest(items))
        for id_, item in items:
            if "drop" in item and len(items) > 1:
                del answers[id_]
            if "weird" in item:
                answers[id_] = "eggs"
        return json.dumps(answers)

    mails = ["hello", "please drop me", "Buy gold", "weird one", "bye"]
    model = batch_model(sloppy)
    results = batch_classify(mails, LABELS, model=model, max_items=5)
    assert [r.ok for r in results] == [True, True, True, False, True]
    assert results[1].value == "ham"
    assert "failed even when sent alone" in (results[3].error or "")
    assert batch_sizes(model) == [5, 2, 1, 1]


def test_answers_shifted_onto_ids_never_asked_are_not_assigned_to_neighbours() -> None:
    """A model that numbers from i1 puts every answer one id too far: the shift is seen
    (i3 was never asked), and no item keeps its neighbour's label."""

    def off_by_one(items: list[tuple[str, Any]]) -> str:
        if len(items) == 1:
            return honest(items)
        shifted = {f"i{int(id_[1:]) + 1}": label_by_keyword(item) for id_, item in items}
        return json.dumps({items[0][0]: "ham", **shifted})

    mails = ["Buy a", "hello", "Buy b"]
    model = batch_model(off_by_one)
    results = batch_classify(mails, LABELS, model=model)
    assert [r.value for r in results] == ["spam", "ham", "spam"]
    assert all(r.ok for r in results)
    assert batch_sizes(model)[0] == 3


def test_mapping_items_and_pydantic_free_text_schema() -> None:
    def shout(items: list[tuple[str, Any]]) -> str:
        return json.dumps({id_: item["subject"].upper() for id_, item in items})

    tickets = [{"subject": "refund", "body": "x"}, {"subject": "login", "body": "y"}]
    results = ItemBatcher(batch_model(shout), "Shout the subject.").invoke(tickets)
    assert [r.value for r in results] == ["REFUND", "LOGIN"]
    assert results[0].item == tickets[0]


def test_cached_items_are_not_sent_again() -> None:
    cache = InMemoryItemCache()
    first = batch_model()
    batch_classify(MAILS[:10], LABELS, model=first, cache=cache)
    second = batch_model()
    results = batch_classify(MAILS[5:15], LABELS, model=second, cache=cache)
    assert batch_sizes(second) == [5]
    assert [r.cached for r in results] == [True] * 5 + [False] * 5
    assert all(r.cost_usd == 0.0 and r.calls == 0 for r in results[:5])
    assert [r.value for r in results] == [label_by_keyword(m) for m in MAILS[5:15]]


def test_cost_from_a_price_function_is_split_per_item() -> None:
    results = batch_classify(
        MAILS[:4], LABELS, model=batch_model(), price=lambda model, usage: 0.01 * 4
    )
    assert [r.cost_usd for r in results] == [0.01] * 4


def test_router_cost_record_wins_over_the_price_function() -> None:
    def routed(messages: list[BaseMessage]) -> AIMessage:
        record = {"costrouter": {"cost_usd": 0.5}}
        return AIMessage(honest(items_of(messages)), response_metadata=record)

    model = ScriptedChatModel(responder=routed)
    results = batch_classify(["a", "b"], LABELS, model=model, price=lambda m, u: 99.0)
    assert [r.cost_usd for r in results] == [0.25, 0.25]


class _MetadataSpy(BaseCallbackHandler):
    def __init__(self) -> None:
        self.metadata: list[dict[str, Any]] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.metadata.append(kwargs.get("metadata") or {})


def test_task_and_batch_size_reach_the_model_as_run_metadata() -> None:
    spy = _MetadataSpy()
    batch_classify(
        MAILS[:7],
        LABELS,
        model=batch_model(),
        max_items=4,
        task="classification",
        config={"callbacks": [spy], "metadata": {"tenant": "acme"}},
    )
    assert sorted(m["batch_size"] for m in spy.metadata) == [3, 4]
    assert all(m["task"] == "classification" and m["tenant"] == "acme" for m in spy.metadata)


async def test_async_path_bounds_concurrency() -> None:
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def slow(items: list[tuple[str, Any]]) -> str:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return honest(items)

    results = await abatch_classify(
        MAILS, LABELS, model=batch_model(slow), max_items=2, max_concurrency=3
    )
    assert [r.value for r in results] == [label_by_keyword(m) for m in MAILS]
    assert peak[0] == 3


def test_progress_bar_is_off_when_stderr_is_not_a_terminal(capsys: Any) -> None:
    batch_classify(MAILS, LABELS, model=batch_model(), max_items=2)
    assert "item" not in capsys.readouterr().err
    batch_classify(MAILS, LABELS, model=batch_model(), max_items=2, progress=True)
    assert "25/25" in capsys.readouterr().err


@pytest.mark.parametrize(
    "wrong",
    [{"text": "Buy now", "lang": "en"}, "Buy now", StringPromptValue(text="hi")],
    ids=["mapping", "text", "prompt"],
)
def test_one_mapping_or_a_prompt_is_refused_not_read_as_a_list_of_items(wrong: Any) -> None:
    """A dict is one item (its keys are not items); a prompt value is not a list of items."""
    model = batch_model()
    batcher = ItemBatcher(model, "Classify.", LABELS)
    with pytest.raises(TypeError, match="list of items"):
        batcher.invoke(wrong)
    assert model.seen == []


@pytest.mark.parametrize(
    "bad", ["caf\udce9 menu", {"subject": "hi", "body": ["x", "\ud800"]}], ids=["text", "mapping"]
)
def test_an_item_with_a_lone_surrogate_is_refused_before_any_call(bad: Any) -> None:
    """No provider takes a lone surrogate: sent, it fails the whole batch (a router refuses
    the prompt, ChatOpenAI's client raises UnicodeEncodeError), its neighbours with it."""
    model = batch_model()
    with pytest.raises(InvalidRequestError, match=r"item 1 .*lone surrogate.*errors='replace'"):
        batch_classify(["Buy now", bad, "hello"], LABELS, model=model)
    assert model.seen == []


def test_items_that_are_not_json_name_the_item_and_the_fix() -> None:
    model = batch_model()
    with pytest.raises(TypeError, match=r"item 2 .*not JSON.*set.*convert"):
        batch_classify(["a", {"b": 1}, {"tags": {"x"}}], LABELS, model=model)
    with pytest.raises(TypeError, match=r"item 1 must be a str or a mapping, got int"):
        batch_classify(["a", 7], LABELS, model=model)  # type: ignore[list-item]
    assert model.seen == []


async def test_call_keywords_are_refused_with_where_they_belong() -> None:
    """``invoke(items, task=...)`` works on a router, not here: the run is configured on
    the batcher or in the config, and the error says so instead of naming a private method."""
    model = batch_model()
    batcher = ItemBatcher(model, "Classify.", LABELS)
    expected = r"takes no call keywords \(got task\).*ItemBatcher\(\.\.\., task=\.\.\.\).*metadata"
    with pytest.raises(TypeError, match=expected):
        batcher.invoke(["Buy now"], task="classification")
    with pytest.raises(TypeError, match=expected):
        await batcher.ainvoke(["Buy now"], task="classification")
    assert model.seen == []


@pytest.mark.parametrize(
    ("instruction", "labels", "named"),
    [("Classify \udce9.", LABELS, "instruction"), ("Classify.", ["spam", "h\ud800m"], "schema")],
    ids=["instruction", "label"],
)
def test_a_lone_surrogate_in_the_instruction_or_labels_is_refused_when_built(
    instruction: str, labels: list[str], named: str
) -> None:
    """Sent in every batch's system message, it failed every call in the HTTP client
    (ChatOpenAI: a bare UnicodeEncodeError naming neither it nor the fix)."""
    model = batch_model()
    with pytest.raises(InvalidRequestError, match=rf"The {named}.*lone surrogate.*'replace'"):
        ItemBatcher(model, instruction, labels)
    assert model.seen == []


def test_a_mapping_whose_keys_json_turns_into_text_is_an_item_like_any_other() -> None:
    """JSON writes every key as text; sorting keys of mixed types for the item's cache
    key raised a TypeError naming no item ('<' not supported), with or without a cache."""
    tickets: list[Any] = [{1: "Buy now", "lang": "en"}, {2: "hello", True: "x"}]
    for cache in (None, InMemoryItemCache()):
        results = batch_classify(tickets, LABELS, model=batch_model(), cache=cache)
        assert [r.value for r in results] == ["spam", "ham"]
    again = batch_classify(tickets, LABELS, model=batch_model(), cache=cache)
    assert [r.cached for r in again] == [True, True]


def test_no_list_at_all_is_refused_as_not_a_list_of_items() -> None:
    with pytest.raises(TypeError, match=r"takes a list of items, got one NoneType"):
        ItemBatcher(batch_model(), "Classify.", LABELS).invoke(None)  # type: ignore[arg-type]
