"""Response cache in front of routing: canonical keys, safe JSON values, shared stores.

Layers, from the request inwards::

    CacheRequest (keys.py)        everything that shapes an answer -> one versioned key
    ResponseCache                 per-task policy, lookup/store, coalescing, semantic layer
    BackendGuard                  store failures -> misses with one warning
    Memory / Disk / Redis backend JSON bytes under string keys, TTL, cross-process locks

`open_cache(url)` builds the whole stack from ``memory://``, ``diskcache:///PATH`` or
``redis://HOST:PORT/DB`` URLs; `CostRouterLLMCache` puts the same backends behind
LangChain's ``set_llm_cache`` for models outside the router.
"""

from typing import TYPE_CHECKING

from langchain_costrouter._lazy import lazy_exports

# Lazy (PEP 562): the router's request path needs the keys and ResponseCache; the semantic
# layer (numpy) and the Redis and disk backends load when a cache uses them.
if TYPE_CHECKING:
    from langchain_costrouter.cache.backends import CacheBackend, CacheBackendError
    from langchain_costrouter.cache.codec import CacheDecodeError, decode_message, encode_message
    from langchain_costrouter.cache.core_backend import BaseCacheBackend
    from langchain_costrouter.cache.disk import DiskBackend, default_cache_dir
    from langchain_costrouter.cache.keys import (
        DEFAULT_NORMALIZATION,
        EXACT,
        LENIENT,
        CacheRequest,
        Normalization,
    )
    from langchain_costrouter.cache.langchain_cache import CostRouterLLMCache
    from langchain_costrouter.cache.memory import MemoryBackend
    from langchain_costrouter.cache.response_cache import CacheHit, ResponseCache, is_complete
    from langchain_costrouter.cache.semantic import SemanticLayer, SemanticMatch
    from langchain_costrouter.cache.semantic_guard import near_miss_guard
    from langchain_costrouter.cache.urls import as_response_cache, open_backend, open_cache
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "langchain_costrouter.cache.backends": ("CacheBackend", "CacheBackendError"),
            "langchain_costrouter.cache.codec": (
                "CacheDecodeError",
                "decode_message",
                "encode_message",
            ),
            "langchain_costrouter.cache.core_backend": ("BaseCacheBackend",),
            "langchain_costrouter.cache.disk": ("DiskBackend", "default_cache_dir"),
            "langchain_costrouter.cache.keys": (
                "DEFAULT_NORMALIZATION",
                "EXACT",
                "LENIENT",
                "CacheRequest",
                "Normalization",
            ),
            "langchain_costrouter.cache.langchain_cache": ("CostRouterLLMCache",),
            "langchain_costrouter.cache.memory": ("MemoryBackend",),
            "langchain_costrouter.cache.response_cache": (
                "CacheHit",
                "ResponseCache",
                "is_complete",
            ),
            "langchain_costrouter.cache.semantic": ("SemanticLayer", "SemanticMatch"),
            "langchain_costrouter.cache.semantic_guard": ("near_miss_guard",),
            "langchain_costrouter.cache.urls": ("as_response_cache", "open_backend", "open_cache"),
        },
    )

__all__ = [
    "DEFAULT_NORMALIZATION",
    "EXACT",
    "LENIENT",
    "BaseCacheBackend",
    "CacheBackend",
    "CacheBackendError",
    "CacheDecodeError",
    "CacheHit",
    "CacheRequest",
    "CostRouterLLMCache",
    "DiskBackend",
    "MemoryBackend",
    "Normalization",
    "ResponseCache",
    "SemanticLayer",
    "SemanticMatch",
    "as_response_cache",
    "decode_message",
    "default_cache_dir",
    "encode_message",
    "is_complete",
    "near_miss_guard",
    "open_backend",
    "open_cache",
]
