"""Cache URLs: one string in a config file or a ``cache=`` argument picks a backend.

``memory://`` (``?max_entries=N``), ``diskcache://`` (the per-user default directory)
or ``diskcache:///ABSOLUTE/PATH`` (``?size_limit=BYTES``), ``redis://HOST:PORT/DB``
or ``rediss://`` (``?prefix=...``; other query options go to redis-py). Every URL
also takes ``?ttl=SECONDS`` as the default lifetime of entries.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from langchain_core.caches import BaseCache

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.cache.backends import CacheBackend
from langchain_costrouter.cache.core_backend import BaseCacheBackend
from langchain_costrouter.cache.memory import MemoryBackend
from langchain_costrouter.cache.response_cache import ResponseCache
from langchain_costrouter.errors import ConfigError

SCHEMES = ("memory", "diskcache", "redis", "rediss")


def open_cache(url: str, **options: Any) -> ResponseCache:
    """Open a `ResponseCache` from a URL.

    Args:
        url: ``memory://``, ``diskcache:///PATH``, ``redis://HOST:PORT/DB?prefix=P``...
        **options: passed to `ResponseCache` (``ttl``, ``normalization``,
            ``semantic``, ``disabled_tasks``...); they win over ``?ttl=`` in the URL.

    Raises:
        ConfigError: unknown scheme or malformed option.
    """
    backend, url_options = open_backend(url)
    return ResponseCache(backend, **{**url_options, **options})


def as_response_cache(spec: str | ResponseCache | CacheBackend | BaseCache) -> ResponseCache:
    """Accept what a ``cache=`` argument may hold and return a `ResponseCache`.

    A URL opens its backend, a `ResponseCache` is used as is, a `CacheBackend` gets a
    default `ResponseCache`, and a LangChain `BaseCache` is wrapped by
    `BaseCacheBackend` (JSON strings as generation texts).

    Raises:
        ConfigError: unknown URL scheme or option.
        TypeError: ``spec`` is none of these.
    """
    if isinstance(spec, ResponseCache):
        return spec
    if isinstance(spec, str):
        return open_cache(spec)
    if isinstance(spec, CacheBackend):
        return ResponseCache(spec)
    if isinstance(spec, BaseCache):
        return ResponseCache(BaseCacheBackend(spec))
    raise TypeError(
        f"cache must be a URL, a ResponseCache, a CacheBackend or a LangChain BaseCache, "
        f"not {type(spec).__qualname__}"
    )


def open_backend(url: str) -> tuple[CacheBackend, dict[str, Any]]:
    """The backend a URL names, and the `ResponseCache` options its query carries."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    cache_options: dict[str, Any] = {}
    if "ttl" in query:
        ttl = _number(query.pop("ttl"), "ttl", url)
        if not (math.isfinite(ttl) and ttl > 0):
            raise ConfigError(
                f"option ttl={ttl:g} in {shown_url(url)!r} must be a positive number of "
                "seconds; leave it out for entries that never expire"
            )
        cache_options["ttl"] = ttl
    if parts.scheme == "memory":
        max_entries = int(_number(query.pop("max_entries", "10000"), "max_entries", url))
        backend: CacheBackend = MemoryBackend(max_entries)
    elif parts.scheme == "diskcache":
        # Imported here: diskcache and SQLite load only for a disk cache.
        from langchain_costrouter.cache.disk import DiskBackend

        directory = unquote(parts.netloc + parts.path) or None
        size_limit = int(_number(query.pop("size_limit", str(2**30)), "size_limit", url))
        backend = DiskBackend(directory, size_limit=size_limit)
    elif parts.scheme in ("redis", "rediss"):
        backend = _redis_backend(parts._replace(query=""), query)
        query.clear()
    else:
        raise ConfigError(
            f"unknown cache URL scheme in {shown_url(url)!r}; use one of {', '.join(SCHEMES)}"
        )
    if query:
        raise ConfigError(f"unknown cache URL options {sorted(query)} in {shown_url(url)!r}")
    return backend, cache_options


def _redis_backend(parts: Any, query: dict[str, str]) -> CacheBackend:
    # Imported here: redis is an optional dependency (the [redis] extra).
    from langchain_costrouter.cache.redis_backend import DEFAULT_PREFIX, RedisBackend

    prefix = query.pop("prefix", DEFAULT_PREFIX)
    client_url = urlunsplit(parts._replace(query=urlencode(query)))
    return RedisBackend(client_url, prefix=prefix)


def _number(text: str, name: str, url: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"option {name}={text!r} in {shown_url(url)!r} is not a number") from None
