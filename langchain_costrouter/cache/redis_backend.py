"""Redis backend: one cache for many machines, with plain commands only.

GET/SET with PX for entries, SET NX PX for coalescing locks, a compare-and-delete
EVAL to release a lock, RPUSH/LLEN/LRANGE for semantic vectors (and LTRIM, with a
counter of the values trimmed so that positions never move), SCAN TYPE+DEL to clear. No
modules (RedisJSON, RediSearch) are needed: the semantic layer searches large lists
with its own index, kept per machine (`index_directory`), because the search module
is not part of a plain Redis server. Every key carries ``prefix``, so several
applications (and tests) share one database without touching each other's keys, even
when one prefix starts with another (``app`` and ``app2``, ``team:a:`` and ``team:a:b:``):
`RedisBackend.clear` deletes only keys whose rest after the prefix has a cache key's shape.

Short socket timeouts keep a dead server from stalling calls: a request that cannot
reach Redis within them is a miss, and the call goes on.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import platformdirs
import redis

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.cache._redis_lists import RedisLists, redis_errors
from langchain_costrouter.cache.backends import CacheBackend, CacheBackendError
from langchain_costrouter.cache.codec import CacheDecodeError
from langchain_costrouter.errors import ConfigError

DEFAULT_PREFIX = "costrouter:cache:"
_CACHE_KEY_TYPES = ("string", "list")
"""The Redis types of the keys this backend writes (`RedisBackend.clear` deletes only these)."""

_OWN_KEY = re.compile(rb"(?:lock:)?(?:sem:|lc:)?v[0-9]+:[0-9a-f]{64}(?:#start)?")
"""What follows the prefix in every key a cache writes, in every key version so far.

An answer (cache/keys.py: ``v2:`` and a SHA-256 digest), a semantic partition
(cache/semantic.py: ``sem:v2:``) and the count of its values trimmed (``#start``
after it), a `CostRouterLLMCache` entry (cache/langchain_cache.py:
``lc:v2:``), a coalescing lock (``lock:`` and one of those); ``v1`` keys of older
releases alike. A key under the prefix whose rest has another shape belongs to a cache
whose prefix extends this one (``app2v2:...`` under ``app``) and `RedisBackend.clear`
leaves it. A new kind of key needs its form here, or clear() leaves it behind (the
Redis tests' ``prefixed_url`` fixture checks that nothing is left).
"""

_UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBackend(RedisLists, CacheBackend):
    """Answers in Redis under ``prefix``; values are JSON bytes.

    Args:
        url: ``redis://[:password@]HOST:PORT/DB`` (``rediss://`` for TLS).
        prefix: prepended to every key this backend writes.
        connect_timeout: seconds to wait for a connection.
        timeout: seconds to wait for a reply.
    """

    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        connect_timeout: float = 0.5,
        timeout: float = 1.0,
    ) -> None:
        """Create a client; no connection is made until the first command."""
        self.prefix = prefix
        self._server = _server_identity(url)
        self._client = _client(url, connect_timeout, timeout)
        self._open_lists()

    def get(self, key: str) -> bytes | None:
        """GET the prefixed key.

        Raises:
            CacheDecodeError: the key holds another Redis type (a list, a hash: someone
                else's key, or a poisoned one). That is a bad entry, which the caller
                warns about and deletes, not a Redis outage, which would pause the
                cache for everyone in the process and leave the key in place.
        """
        try:
            with redis_errors():
                value = self._client.get(self.prefix + key)
        except CacheBackendError as error:
            if str(error.__cause__).startswith("WRONGTYPE"):
                raise CacheDecodeError("the key holds another Redis type than a string") from None
            raise
        return cast("bytes | None", value)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """SET with PX expiry (milliseconds), or without expiry when ttl is None."""
        expiry_ms = None if ttl is None else max(1, int(ttl * 1000))
        with redis_errors():
            self._client.set(self.prefix + key, value, px=expiry_ms)

    def delete(self, key: str) -> None:
        """DEL the prefixed key."""
        with redis_errors():
            self._client.delete(self.prefix + key)

    def clear(self) -> None:
        """Delete this cache's keys: strings and lists under the prefix shaped like `_OWN_KEY`.

        SCAN's pattern (the prefix, its glob characters escaped, then ``*``) also matches
        the keys of a cache whose prefix extends this one (``app`` and ``app2``,
        ``team:a:`` and ``team:a:b:``): clearing one emptied the other. Only keys whose
        rest after the prefix is a key this backend writes are deleted, so the other
        cache keeps its entries, and keys written by earlier releases (same layout) go.
        The one overlap left is in the keys themselves, not in clear: a prefix equal to
        another's followed by ``lock:``, ``sem:`` or ``lc:`` names the same Redis keys
        as that cache's locks, vectors or LangChain entries, so such pairs must not share
        a database. Only strings and lists (answers and locks are strings, semantic
        vectors lists): a budget store's accounts, leases and rate buckets are hashes
        and sorted sets, so a budget store under an extending prefix (``app:`` and
        ``app:budgets:``) keeps its spend. Needs Redis 6 (SCAN's TYPE filter).
        """
        with redis_errors():
            for kind in _CACHE_KEY_TYPES:
                self._delete_own_keys(kind)
        shutil.rmtree(self.index_directory(), ignore_errors=True)

    def _delete_own_keys(self, kind: str) -> None:
        """SCAN the prefix's keys of one Redis type; DEL those of this cache, 500 at a time."""
        pattern = _glob_escape(self.prefix) + "*"
        start = len(self.prefix.encode())
        batch: list[bytes | str] = []
        for name in self._client.scan_iter(match=pattern, count=500, _type=kind):
            # str when the URL asks redis-py for decode_responses
            if _OWN_KEY.fullmatch(name if isinstance(name, bytes) else name.encode(), start):
                batch.append(name)
            if len(batch) >= 500:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)

    def index_directory(self) -> Path:
        """A directory of this user's cache dir named after the server, database and prefix.

        Each machine keeps its own indexes of the shared lists (the name is a digest,
        so no host name or password lands in a path).
        """
        name = hashlib.sha256(f"{self._server}|{self.prefix}".encode()).hexdigest()[:32]
        return _user_index_root() / name

    def try_lock(self, name: str, ttl: float, token: str) -> bool:
        """SET NX PX: atomic across every process that shares the server."""
        with redis_errors():
            taken = self._client.set(
                self.prefix + "lock:" + name, token, nx=True, px=max(1, int(ttl * 1000))
            )
        return bool(taken)

    def unlock(self, name: str, token: str) -> None:
        """Delete the lock only if ``token`` still holds it (never someone else's)."""
        with redis_errors():
            self._client.eval(_UNLOCK_SCRIPT, 1, self.prefix + "lock:" + name, token)

    def is_locked(self, name: str) -> bool:
        """EXISTS on the lock key."""
        with redis_errors():
            return bool(self._client.exists(self.prefix + "lock:" + name))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _client(url: str, connect_timeout: float, timeout: float) -> redis.Redis:
    """A client for ``url``, its query options checked now rather than at the first call.

    redis-py takes any query key and hands it to each new connection: a misspelt option
    would be a TypeError at the first lookup, out of every routed call (the guard turns
    only the store's failures into misses). A connection object is built, without
    connecting, to ask redis-py itself.
    """
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=timeout
        )
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"cache URL {shown_url(url)!r} has an option redis-py does not take ({error}); "
            "the cache itself reads prefix and ttl, the others go to redis-py"
        ) from None
    return client


def _server_identity(url: str) -> str:
    """Scheme, host, port and database of ``url``, without credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def _user_index_root() -> Path:
    return Path(platformdirs.user_cache_dir("langchain-costrouter")) / "semantic-index"


def _glob_escape(text: str) -> str:
    """Escape SCAN MATCH wildcards so a prefix matches only itself."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
