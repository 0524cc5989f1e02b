"""The per-item cache: JSON text in, validated values out, stale entries are misses."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from langchain_costrouter.batching.cache import (
    MISS,
    InMemoryItemCache,
    cached_value,
    item_cache_key,
    store_value,
)
from langchain_costrouter.batching.runnable import batch_classify
from langchain_costrouter.batching.schema import LabelSchema, PydanticSchema
from langchain_costrouter.errors import BackendUnavailableWarning
from tests.unit_tests.batching.fake_models import batch_model, honest, label_by_keyword


class Tag(BaseModel):
    tag: str


def test_round_trip_of_a_pydantic_value() -> None:
    cache, schema = InMemoryItemCache(), PydanticSchema(Tag)
    key = item_cache_key("Tag it.", schema, "some text")
    store_value(cache, key, schema, Tag(tag="x"))
    assert cache.get(key) == '{"tag": "x"}'
    assert cached_value(cache, key, schema) == Tag(tag="x")


def test_key_changes_with_instruction_schema_and_text() -> None:
    labels = LabelSchema(["a", "b"])
    base = item_cache_key("Classify.", labels, "text")
    assert base == item_cache_key("Classify.", labels, "text")
    assert base != item_cache_key("Classify!", labels, "text")
    assert base != item_cache_key("Classify.", LabelSchema(["a", "c"]), "text")
    assert base != item_cache_key("Classify.", labels, "text ")


def test_missing_stale_or_corrupt_entries_are_misses() -> None:
    cache, schema = InMemoryItemCache(), LabelSchema(["a", "b"])
    assert cached_value(cache, "absent", schema) is MISS
    cache.set("stale", '"c"')
    assert cached_value(cache, "stale", schema) is MISS
    cache.set("corrupt", '{"a"')
    assert cached_value(cache, "corrupt", schema) is MISS


def test_bytes_from_redis_like_stores_are_read() -> None:
    class BytesStore(InMemoryItemCache):
        def get(self, key: str) -> bytes | None:  # type: ignore[override]
            value = super().get(key)
            return None if value is None else value.encode()

    cache, schema = BytesStore(), LabelSchema(["a", "b"])
    store_value(cache, "k", schema, "b")
    assert cached_value(cache, "k", schema) == "b"


class FileStore:
    """An item cache of one file per key, as a user might write over a shared volume."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, key: str) -> str | None:
        path = self.root / key.replace(":", "_")
        return path.read_text() if path.exists() else None

    def set(self, key: str, value: str) -> None:
        (self.root / key.replace(":", "_")).write_text(value)


def test_a_cache_whose_writes_fail_mid_run_keeps_every_answer(tmp_path: Path) -> None:
    """The volume goes away while the batch is answered: the answers were paid for and
    are returned; the cache is skipped for the rest of the run, with one warning."""
    root = tmp_path / "items"
    root.mkdir()

    def answer_then_lose_the_volume(items: list[tuple[str, Any]]) -> str:
        shutil.rmtree(root, ignore_errors=True)
        return honest(items)

    mails = ["Buy now", "hello", "Buy more", "bye"]
    with pytest.warns(BackendUnavailableWarning, match="write failed") as caught:
        results = batch_classify(
            mails,
            ["spam", "ham"],
            model=batch_model(answer_then_lose_the_volume),
            cache=FileStore(root),
        )
    assert [r.value for r in results] == [label_by_keyword(m) for m in mails]
    assert len(caught) == 1
