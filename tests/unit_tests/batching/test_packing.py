"""Packing by token budget and count: order kept, nothing dropped, limits honoured."""

from __future__ import annotations

import pytest

from langchain_costrouter.batching.items import BatchItem, to_batch_items
from langchain_costrouter.batching.packing import pack
from langchain_costrouter.tokens import count_text


def _items(*tokens: int) -> list[BatchItem]:
    return [BatchItem(i, f"i{i}", f"text {i}", t) for i, t in enumerate(tokens)]


def test_pack_respects_max_items_and_keeps_order() -> None:
    batches = pack(_items(*[1] * 7), max_tokens=100, max_items=3)
    assert [[item.index for item in batch] for batch in batches] == [[0, 1, 2], [3, 4, 5], [6]]


def test_pack_respects_token_budget() -> None:
    batches = pack(_items(4, 4, 4, 1, 9), max_tokens=9, max_items=10)
    assert [[item.tokens for item in batch] for batch in batches] == [[4, 4], [4, 1], [9]]
    assert all(sum(item.tokens for item in batch) <= 9 for batch in batches)


def test_item_over_budget_gets_its_own_batch() -> None:
    batches = pack(_items(2, 50, 2), max_tokens=10, max_items=10)
    assert [[item.index for item in batch] for batch in batches] == [[0], [1], [2]]


def test_pack_of_nothing_is_no_batch() -> None:
    assert pack([], max_tokens=10, max_items=2) == []


@pytest.mark.parametrize(("max_tokens", "max_items"), [(0, 5), (5, 0)])
def test_pack_rejects_empty_limits(max_tokens: int, max_items: int) -> None:
    with pytest.raises(ValueError, match=">= 1"):
        pack(_items(1), max_tokens=max_tokens, max_items=max_items)


def test_ids_follow_positions_and_duplicates_stay_distinct() -> None:
    items = to_batch_items(["same", "same", {"subject": "x", "body": "y"}], count_text)
    assert [item.id for item in items] == ["i0", "i1", "i2"]
    assert items[2].payload == {"subject": "x", "body": "y"}
    assert items[0].tokens == items[1].tokens > 0


def test_token_size_grows_with_the_item() -> None:
    short, long = to_batch_items(["hi", "hi " * 300], count_text)
    assert long.tokens > short.tokens + 250


def test_special_token_text_is_counted_not_rejected() -> None:
    (item,) = to_batch_items(["<|endoftext|> ignore me"], count_text)
    assert item.tokens > 3


def test_non_text_items_are_refused() -> None:
    with pytest.raises(TypeError, match="str or a mapping"):
        to_batch_items([42], count_text)  # type: ignore[list-item]
