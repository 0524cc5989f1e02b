"""The response cache the router consults before routing.

Usage from a request path (sync; async is the same with ``a`` twins)::

    hit = cache.lookup(request)
    if hit is None:
        with cache.coalesce(request) as leader:
            hit = cache.lookup(request)  # always re-check: a leader may have answered
            if hit is None:
                answer = call_the_provider()
                cache.store(request, answer)  # only complete, accepted answers

Per task, the cache decides whether to cache at all, how long entries live and how
prompts are normalised (`TaskPolicy`, cache/_task_policy.py). A failing backend or a
corrupt entry is a miss with one `BackendUnavailableWarning`; these methods never raise
because of the store. Returned messages are fresh objects decoded from JSON, never
shared ones.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from typing import TYPE_CHECKING, Literal, NamedTuple

from langchain_core.messages import AIMessage

from langchain_costrouter.cache._task_policy import TaskPolicy
from langchain_costrouter.cache.backends import CacheBackend
from langchain_costrouter.cache.coalesce import Coalescer
from langchain_costrouter.cache.codec import (
    CacheDecodeError,
    CacheEncodeError,
    decode_message,
    encode_message,
)
from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.keys import DEFAULT_NORMALIZATION, CacheRequest, Normalization
from langchain_costrouter.errors import BackendUnavailableWarning

if TYPE_CHECKING:
    from langchain_costrouter.cache.semantic import SemanticLayer
    from langchain_costrouter.cache.semantic_store import SemanticStore


class CacheHit(NamedTuple):
    """A cached answer and how it was found (for the ledger and metadata)."""

    message: AIMessage
    key: str
    kind: Literal["exact", "semantic"] = "exact"
    similarity: float = 1.0


class ResponseCache(TaskPolicy):
    """Exact (and optionally semantic) answer cache over any `CacheBackend`.

    Args:
        backend: where entries live (memory, diskcache, Redis).
        ttl: seconds an entry lives; None = until evicted. Per task via a mapping
            (``{"chat": 3600, "*": 86400}``; tasks absent and no ``"*"``: no expiry).
        enabled_tasks: if given, only these tasks are cached.
        disabled_tasks: tasks never cached (e.g. ones whose answers must be fresh).
        normalization: prompt normalisation, one for all tasks or per task (see
            `Normalization`; default strips outer whitespace of text parts only).
        semantic: an optional `SemanticLayer`; off by default.
        lock_timeout: seconds a coalescing leader is waited for before others proceed.
        retry_after: seconds a failed backend is skipped before being tried again.
    """

    def __init__(
        self,
        backend: CacheBackend,
        *,
        ttl: float | Mapping[str, float | None] | None = None,
        enabled_tasks: Collection[str] | None = None,
        disabled_tasks: Collection[str] = (),
        normalization: Normalization | Mapping[str, Normalization] = DEFAULT_NORMALIZATION,
        semantic: SemanticLayer | None = None,
        lock_timeout: float = 30.0,
        retry_after: float = 5.0,
    ) -> None:
        """Configure the cache; the backend is touched on first use only."""
        self.backend = backend
        super().__init__(
            ttl=ttl,
            enabled_tasks=enabled_tasks,
            disabled_tasks=disabled_tasks,
            normalization=normalization,
        )
        self.semantic = semantic
        self._guard = BackendGuard(backend, retry_after=retry_after)
        self._coalescer = Coalescer(self._guard, lock_timeout=lock_timeout)
        self._semantic: SemanticStore | None = None
        self.inline = backend.inline and semantic is None
        """Whether every operation completes without waiting for I/O (a local backend, no
        semantic layer): the async methods then run the sync ones, without a coroutine
        per layer, and async callers (the router) may call the sync ones themselves."""
        if semantic is not None:
            # Imported here: the semantic store brings numpy, which an exact cache never needs.
            from langchain_costrouter.cache.semantic_store import SemanticStore

            self._semantic = SemanticStore(semantic, self._guard)

    def lookup(self, request: CacheRequest) -> AIMessage | None:
        """The cached answer (a fresh copy), or None on a miss or disabled task."""
        hit = self.lookup_hit(request)
        return None if hit is None else hit.message

    async def alookup(self, request: CacheRequest) -> AIMessage | None:
        """Async `lookup`."""
        hit = await self.alookup_hit(request)
        return None if hit is None else hit.message

    def lookup_hit(self, request: CacheRequest) -> CacheHit | None:
        """Like `lookup`, also telling whether the hit was exact or semantic."""
        if not self.enabled_for(request.task):
            return None
        key = self.key(request)
        message = self._fetch(key)
        if message is not None or self._semantic is None:
            return None if message is None else CacheHit(message, key)
        for match in self._semantic.find(request, self.normalization_for(request)):
            message = self._fetch(match.key)  # None: expired or evicted, try the next
            if message is not None:
                return CacheHit(message, key, "semantic", match.similarity)
        return None

    async def alookup_hit(self, request: CacheRequest) -> CacheHit | None:
        """Async `lookup_hit`."""
        if self.inline:
            return self.lookup_hit(request)
        if not self.enabled_for(request.task):
            return None
        key = self.key(request)
        message = await self._afetch(key)
        if message is not None or self._semantic is None:
            return None if message is None else CacheHit(message, key)
        for match in await self._semantic.afind(request, self.normalization_for(request)):
            message = await self._afetch(match.key)
            if message is not None:
                return CacheHit(message, key, "semantic", match.similarity)
        return None

    def store(self, request: CacheRequest, message: AIMessage) -> None:
        """Cache a complete, accepted answer (a no-op for disabled tasks)."""
        key, ttl = self.key(request), self.ttl_for(request.task)
        value = self._encodable(request, message, key)
        if value is None:
            return
        self._guard.run("writing", self.backend.set, key, value, ttl)
        if self._semantic is not None:
            self._semantic.remember(request, self.normalization_for(request), key, ttl)

    async def astore(self, request: CacheRequest, message: AIMessage) -> None:
        """Async `store`."""
        if self.inline:
            self.store(request, message)
            return
        key, ttl = self.key(request), self.ttl_for(request.task)
        value = self._encodable(request, message, key)
        if value is None:
            return
        await self._guard.arun("writing", lambda: self.backend.aset(key, value, ttl))
        if self._semantic is not None:
            await self._semantic.aremember(request, self.normalization_for(request), key, ttl)

    def coalesce(self, request: CacheRequest) -> AbstractContextManager[bool]:
        """Make concurrent identical misses wait for one leader (see module docstring).

        Yields True to the caller that should call the provider, False to a follower
        released after the leader finished (or timed out); both re-run `lookup`.
        Disabled tasks are not coalesced (their answers never reach the cache).
        """
        if not self.enabled_for(request.task):
            return _leader()
        return self._coalescer.hold(self.key(request))

    def acoalesce(self, request: CacheRequest) -> AbstractAsyncContextManager[bool]:
        """Async `coalesce`, safe to mix with threads coalescing the same keys."""
        if not self.enabled_for(request.task):
            return _aleader()
        return self._coalescer.ahold(self.key(request))

    def wait_for_semantic_index(self, timeout: float | None = None) -> bool:
        """Wait until the semantic layer's background index upkeep is done.

        Lookups never wait for it (they scan new entries exactly meanwhile); tests,
        benchmarks and a graceful shutdown may. Returns False if work still runs at
        ``timeout`` seconds; True at once without a semantic layer.
        """
        return self._semantic is None or self._semantic.wait(timeout)

    def clear(self) -> None:
        """Remove every entry of the backend (only this cache's prefix, for Redis)."""
        self._guard.run("clearing", self.backend.clear)

    def close(self) -> None:
        """Release the backend's connections and files."""
        self.backend.close()

    def _fetch(self, key: str) -> AIMessage | None:
        """Read and decode; a corrupt entry (bad JSON, a pickled row) is a warned miss."""
        try:
            raw = self._guard.run("reading", self.backend.get, key)
            return None if raw is None else decode_message(raw, key)
        except CacheDecodeError as error:
            self._guard.corrupt_entry(key, error)
            return None

    async def _afetch(self, key: str) -> AIMessage | None:
        try:
            raw = await self._guard.arun("reading", lambda: self.backend.aget(key))
            return None if raw is None else decode_message(raw, key)
        except CacheDecodeError as error:
            self._guard.corrupt_entry(key, error)
            return None

    def _encodable(self, request: CacheRequest, message: AIMessage, key: str) -> bytes | None:
        """Encoded answer, or None if the task is uncached or the answer incomplete."""
        if not self.enabled_for(request.task) or not is_complete(message):
            return None
        try:
            return encode_message(message, key)
        except CacheEncodeError as error:
            warnings.warn(f"Answer not cached: {error}", BackendUnavailableWarning, stacklevel=3)
            return None


def is_complete(message: AIMessage) -> bool:
    """An answer worth replaying: it says something and has no broken tool calls."""
    if message.invalid_tool_calls:
        return False
    return says_something(message)


def says_something(message: AIMessage) -> bool:
    """Whether an answer has text or a tool call that parsed (an empty answer, or one
    whose only tool call is broken, replayed would fail every later call the same way)."""
    return bool(message.content) or bool(message.tool_calls)


@contextmanager
def _leader() -> Iterator[bool]:
    yield True


@asynccontextmanager
async def _aleader() -> AsyncIterator[bool]:
    yield True
