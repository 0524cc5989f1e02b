"""The per-item cache: JSON text in, validated values out, stale entries are misses."""

from __future__ import annotations

from pydantic import BaseModel

from langchain_costrouter.batching.cache import (
    MISS,
    InMemoryItemCache,
    cached_value,
    item_cache_key,
    store_value,
)
from langchain_costrouter.batching.schema import LabelSchema, PydanticSchema


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
