"""The in-memory backend: bounded LRU with expiry."""

from __future__ import annotations

import time

import pytest

from langchain_costrouter.cache import MemoryBackend


def test_least_recently_used_entry_is_evicted() -> None:
    backend = MemoryBackend(max_entries=2)
    backend.set("a", b"1", None)
    backend.set("b", b"2", None)
    assert backend.get("a") == b"1"  # "a" becomes most recent
    backend.set("c", b"3", None)
    assert backend.get("b") is None
    assert backend.get("a") == b"1"
    assert len(backend) == 2


def test_entries_expire() -> None:
    backend = MemoryBackend()
    backend.set("short", b"1", 0.05)
    backend.set("long", b"2", None)
    time.sleep(0.08)
    assert backend.get("short") is None
    assert backend.get("long") == b"2"


def test_lists_are_bounded_too() -> None:
    backend = MemoryBackend(max_entries=2)
    for value in (b"1", b"2", b"3"):
        backend.append("l", value)
    assert backend.read_list("l") == [b"2", b"3"]


def test_list_positions_stay_put_when_old_values_are_dropped() -> None:
    backend = MemoryBackend(max_entries=2)
    for value in (b"1", b"2", b"3"):
        backend.append("l", value)
    assert backend.list_length("l") == 3  # positions 0..2; position 0 was dropped
    assert backend.read_list("l", 2) == [b"3"]
    assert backend.read_list("l", 0) == [b"2", b"3"]
    backend.clear()
    assert backend.list_length("l") == 0


def test_a_trimmed_list_keeps_its_positions() -> None:
    backend = MemoryBackend()
    for value in (b"1", b"2", b"3", b"4"):
        backend.append("l", value)
    backend.trim_list("l", 2)
    assert backend.list_bounds("l") == (2, 4)
    assert backend.read_positioned("l") == [(2, b"3"), (3, b"4")]
    assert backend.read_positioned("l", 3) == [(3, b"4")]
    backend.trim_list("l", 1)  # already gone: nothing more
    backend.trim_list("l", 9)  # past the end: everything, positions still counted
    backend.append("l", b"5")
    assert backend.list_bounds("l") == (4, 5)
    assert backend.read_positioned("l") == [(4, b"5")]
    backend.trim_list("absent", 3)
    assert backend.list_bounds("absent") == (0, 0)


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryBackend(max_entries=0)
