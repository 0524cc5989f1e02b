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
