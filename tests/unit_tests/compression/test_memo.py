"""The memo over dicts and get/set stores, including failing and foreign stores."""

from __future__ import annotations

import pytest

from langchain_costrouter.compression.memo import Memo, MemoEntry, memo_key
from langchain_costrouter.errors import BackendUnavailableWarning


class GetSetStore:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


class BrokenStore:
    def get(self, key: str) -> str | None:
        raise ConnectionError("store down")

    def set(self, key: str, value: str) -> None:
        raise OSError("disk full")


@pytest.mark.parametrize("store", [{}, GetSetStore()], ids=["dict", "get-set"])
def test_round_trip(store: object) -> None:
    memo = Memo(store)  # type: ignore[arg-type]
    memo.set("k", MemoEntry("short", None))
    memo.set("f", MemoEntry("original", "span damaged"))
    assert memo.get("k") == MemoEntry("short", None)
    assert memo.get("f") == MemoEntry("original", "span damaged")
    assert memo.get("missing") is None


def test_a_broken_store_is_a_miss_with_a_warning() -> None:
    memo = Memo(BrokenStore())
    with pytest.warns(BackendUnavailableWarning, match="store down"):
        assert memo.get("k") is None
    with pytest.warns(BackendUnavailableWarning, match="disk full"):
        memo.set("k", MemoEntry("x", None))


def test_foreign_values_are_misses() -> None:
    memo = Memo({"a": "not json", "b": '{"other": 1}', "c": b'{"text": "ok"}'.decode()})
    assert memo.get("a") is None
    assert memo.get("b") is None
    assert memo.get("c") == MemoEntry("ok", None)


def test_keys_depend_on_text_and_settings_only() -> None:
    assert memo_key("t", {"ratio": 0.5}) == memo_key("t", {"ratio": 0.5})
    assert memo_key("t", {"ratio": 0.5}) != memo_key("t", {"ratio": 0.4})
    assert memo_key("t", {"ratio": 0.5}) != memo_key("u", {"ratio": 0.5})
    assert memo_key("t", {}).startswith("costrouter:compression:v1:")
