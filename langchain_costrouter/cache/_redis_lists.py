"""`RedisBackend`'s lists: the semantic layer's vectors, appended with RPUSH and read by
position, a page at a time, with positions that never move when old values are trimmed.

A list's values before a position go with LTRIM, and a counter beside it (its key and
``#start``) counts the values trimmed, so position ``p`` is always the same value:
LLEN plus that count is every value ever appended. Each read takes the count and a page
in one MULTI, so it knows where its page starts even when another process trims
between two reads. Also here: `redis_errors`, which both halves of the backend use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import redis
from redis.commands.core import Script

from langchain_costrouter.cache.backends import CacheBackendError

_LIST_PAGE = 500
_FIRSTS_KEPT = 10_000

_TRIM_SCRIPT = """
local first = tonumber(redis.call('GET', KEYS[2]) or '0')
local count = math.min(tonumber(ARGV[1]) - first, redis.call('LLEN', KEYS[1]))
if count <= 0 then return first end
redis.call('LTRIM', KEYS[1], count, -1)
redis.call('SET', KEYS[2], first + count)
return first + count
"""
"""Drop a list's values before a position; idempotent, so processes may race to it."""


class RedisLists:
    """The list commands of `redis_backend.RedisBackend`; not used on its own."""

    prefix: str
    _client: redis.Redis
    _firsts: dict[str, int]
    """Per list, the count of its trimmed values last seen (the next read guesses with it)."""
    _trim: Script

    def _open_lists(self) -> None:
        """Called once by the backend, its client made."""
        self._firsts = {}
        self._trim = self._client.register_script(_TRIM_SCRIPT)

    def append(self, key: str, value: bytes) -> None:
        """RPUSH one value to the list under ``key``."""
        with redis_errors():
            self._client.rpush(self.prefix + key, value)

    def list_length(self, key: str) -> int:
        """Values ever appended: LLEN plus the count of values trimmed."""
        return self.list_bounds(key)[1]

    def list_bounds(self, key: str) -> tuple[int, int]:
        """The first kept position and the length, read in one MULTI."""
        with redis_errors():
            pipe = self._client.pipeline(transaction=True)
            pipe.get(self.prefix + key + "#start")
            pipe.llen(self.prefix + key)
            first, kept = pipe.execute()
        start = self._seen(key, int(first or 0))
        return start, start + int(kept)

    def read_list(self, key: str, start: int = 0) -> list[bytes]:
        """The values at positions ``start`` and after that are still kept."""
        return [value for _, value in self.read_positioned(key, start)]

    def read_positioned(self, key: str, start: int = 0) -> list[tuple[int, bytes]]:
        """LRANGE from position ``start`` to the end, a page at a time, with positions.

        One LRANGE of a 100,000-entry partition is 800 MB, far past the reply timeout;
        pages of `_LIST_PAGE` values keep every reply small.
        """
        values: list[tuple[int, bytes]] = []
        first = self._firsts.get(key, 0)
        with redis_errors():
            while True:
                actual, page = self._page(key, max(start - first, 0))
                if max(start - actual, 0) != max(start - first, 0):
                    first = actual  # trimmed since last seen: that page started elsewhere
                    continue
                first = self._seen(key, actual)
                values += enumerate(page, max(start, first))
                if len(page) < _LIST_PAGE:
                    return values
                start = max(start, first) + len(page)

    def _page(self, key: str, index: int) -> tuple[int, list[bytes]]:
        """The count of trimmed values and a page of the list from ``index``, in one
        MULTI: the count tells which position the page starts at. (Plain LRANGE: a Lua
        script returning the page took twice as long for the copies it makes.)"""
        pipe = self._client.pipeline(transaction=True)
        pipe.get(self.prefix + key + "#start")
        pipe.lrange(self.prefix + key, index, index + _LIST_PAGE - 1)
        first, page = pipe.execute()
        return int(first or 0), cast("list[bytes]", page)

    def _seen(self, key: str, first: int) -> int:
        """Remember ``key``'s count of trimmed values (the next read guesses with it)."""
        if len(self._firsts) >= _FIRSTS_KEPT:
            self._firsts.clear()
        self._firsts[key] = first
        return first

    def trim_list(self, key: str, start: int) -> None:
        """LTRIM the values before position ``start`` and count them, in one script."""
        with redis_errors():
            self._trim(keys=[self.prefix + key, self.prefix + key + "#start"], args=[start])


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn connection and server errors into `CacheBackendError`."""
    try:
        yield
    except redis.RedisError as error:
        raise CacheBackendError(f"Redis failed: {error}") from error
