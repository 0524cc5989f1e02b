"""Per-item cache: an item answered before (same instruction, schema and content) is
not sent again.

The cache holds JSON text, never pickles, so any plain key-value store fits the
`ItemCache` protocol: a dict-backed `InMemoryItemCache`, a ``diskcache.Cache``, or a
``redis.Redis`` client (whose ``get`` returns bytes) all work as they are. Values are
validated again on the way out, so an entry written under an older schema is a miss.
A store that fails (Redis down, a disk full) is a miss, or a write skipped, with a
`BackendUnavailableWarning`: it never costs the run the answers it paid for.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any, Protocol

from langchain_costrouter._store_failures import store_failures
from langchain_costrouter.batching.items import canonical_text
from langchain_costrouter.batching.schema import ItemSchema
from langchain_costrouter.errors import BackendUnavailableWarning


class ItemCache(Protocol):
    """Any store with ``get(key)`` and ``set(key, value)`` of strings."""

    def get(self, key: str) -> str | bytes | None:
        """The stored JSON text for ``key``, or None."""
        ...

    def set(self, key: str, value: str) -> Any:
        """Store JSON text under ``key``."""
        ...


class InMemoryItemCache:
    """A dict-backed `ItemCache` for one process."""

    def __init__(self) -> None:
        self._entries: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        """Return the stored text or None."""
        return self._entries.get(key)

    def set(self, key: str, value: str) -> None:
        """Store the text."""
        self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)


def item_cache_key(instruction: str, schema: ItemSchema, content: str) -> str:
    """Hash everything that shapes an item's answer into one fixed-length key."""
    parts = json.dumps(["costrouter-item-v1", instruction, schema.fingerprint, content])
    return "costrouter:item:" + hashlib.sha256(parts.encode("utf-8")).hexdigest()


class _Miss:
    """Marker for 'not cached', since None can be a legitimate cached value."""


MISS = _Miss()


def cached_value(cache: ItemCache, key: str, schema: ItemSchema) -> Any:
    """The validated cached value for ``key``, or `MISS`."""
    raw = cache.get(key)
    if raw is None:
        return MISS
    try:
        return schema.validate(json.loads(raw))
    except ValueError:  # json.JSONDecodeError is a ValueError too: a stale entry is a miss
        return MISS


def store_value(cache: ItemCache, key: str, schema: ItemSchema, value: Any) -> None:
    """Write an accepted value as JSON text."""
    cache.set(key, json.dumps(schema.dump(value), ensure_ascii=False))


class RunCache:
    """The item cache as one run uses it: keyed by the run's instruction and schema.

    The first store failure warns and leaves the store alone for the rest of the run: a
    store that times out would otherwise cost its timeout on every item.
    """

    def __init__(self, cache: ItemCache | None, instruction: str, schema: ItemSchema) -> None:
        self._cache = cache
        self._instruction = instruction
        self._schema = schema

    def recall(self, payload: str | dict[str, Any]) -> Any:
        """The cached answer for an item's content, or `MISS`."""
        if self._cache is None:
            return MISS
        try:
            return cached_value(self._cache, self._key(payload), self._schema)
        except store_failures() as error:
            self._give_up("read", error)
            return MISS

    def remember(self, payload: str | dict[str, Any], value: Any) -> None:
        """Store an accepted answer for an item's content."""
        if self._cache is None:
            return
        try:
            store_value(self._cache, self._key(payload), self._schema, value)
        except store_failures() as error:
            self._give_up("write", error)

    def _key(self, payload: str | dict[str, Any]) -> str:
        """Computed only with a store: a run without one never spells its items twice."""
        return item_cache_key(self._instruction, self._schema, canonical_text(payload))

    def _give_up(self, action: str, error: Exception) -> None:
        self._cache = None
        warnings.warn(
            f"Item cache {action} failed ({error!r}); batching the rest of this run without "
            "the cache. Check the cache's store (its server, disk or permissions).",
            BackendUnavailableWarning,
            stacklevel=3,
        )
