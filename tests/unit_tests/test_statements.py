"""Batches cut into power-of-two chunks: every item once, in order, few distinct sizes."""

from __future__ import annotations

import pytest

from langchain_costrouter._statements import multi_row, power_of_two_chunks


@pytest.mark.parametrize("count", [0, 1, 2, 3, 57, 63, 64, 65, 128, 200, 1000])
def test_every_item_once_in_order_in_power_of_two_sizes(count: int) -> None:
    items = list(range(count))
    chunks = list(power_of_two_chunks(items, 64))
    assert [item for chunk in chunks for item in chunk] == items
    sizes = [len(chunk) for chunk in chunks]
    assert all(size in (1, 2, 4, 8, 16, 32, 64) for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # full chunks first, the rest falling
    assert len([size for size in sizes if size < 64]) == bin(count % 64).count("1")


def test_57_is_32_16_8_1() -> None:
    assert [len(chunk) for chunk in power_of_two_chunks(range(57), 64)] == [32, 16, 8, 1]


@pytest.mark.parametrize("largest", [0, 3, 100])
def test_the_largest_chunk_must_be_a_power_of_two(largest: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        list(power_of_two_chunks([1, 2, 3], largest))


def test_a_statement_is_its_rows_between_head_and_tail_and_built_once_per_size() -> None:
    assert multi_row("INSERT INTO t VALUES ", "(?, ?)", 3, ";") == (
        "INSERT INTO t VALUES (?, ?), (?, ?), (?, ?);"
    )
    assert multi_row("H ", "(?)", 2) is multi_row("H ", "(?)", 2)
