"""Any LangChain `BaseCache` as a router backend (the reverse of `CostRouterLLMCache`).

Lets ``RoutedChatModel(cache=InMemoryCache())`` work: the router keeps its own keys and
JSON values, and the LangChain cache only stores strings.
"""

from __future__ import annotations

from langchain_core.caches import BaseCache
from langchain_core.outputs import Generation

from langchain_costrouter.cache.backends import CacheBackend


class BaseCacheBackend(CacheBackend):
    """Any LangChain `BaseCache` (InMemoryCache, SQLiteCache, ...) as a router backend.

    Entries are stored as one `Generation` whose text is the JSON value, so the
    wrapped cache only ever holds strings. It has no expiry (``ttl`` is ignored) and
    no cross-process locks; prefer a native backend when there is one.
    """

    _LLM_STRING = "langchain-costrouter/response-cache"

    def __init__(self, cache: BaseCache) -> None:
        """Wrap ``cache``."""
        self.cache = cache

    def get(self, key: str) -> bytes | None:
        """The value's text, if the wrapped cache holds one generation for ``key``."""
        found = self.cache.lookup(key, self._LLM_STRING)
        return found[0].text.encode() if found else None

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store the value as the text of one generation."""
        self.cache.update(key, self._LLM_STRING, [Generation(text=value.decode())])

    def delete(self, key: str) -> None:
        """BaseCache has no per-entry delete: overwrite with an empty, undecodable entry."""
        self.cache.update(key, self._LLM_STRING, [])

    def clear(self) -> None:
        """Clear the wrapped cache (all of it: BaseCache has no prefixes)."""
        self.cache.clear()

    def close(self) -> None:
        """Nothing to release here; the wrapped cache owns its resources."""
