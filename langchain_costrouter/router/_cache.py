"""The cache stage: which calls the router caches, and the cache's reads and writes.

A router without a cache gets `NoCache`, whose `key_for` says no call is cacheable,
so the flow simply has no cache steps for it. The cache itself (keys, backends,
coalescing, the semantic layer) lives in `langchain_costrouter.cache`.
"""

from __future__ import annotations

import warnings
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from typing import Protocol

from langchain_core.messages import AIMessage

from langchain_costrouter.cache import CacheRequest, ResponseCache
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.router._identity import Identities
from langchain_costrouter.router._request import Request


class CacheStage(Protocol):
    """What the flow and its I/O need of a cache."""

    @property
    def inline(self) -> bool:
        """Whether reads and writes return at once (no I/O to wait for): the async
        driver then calls `read` and `write` instead of awaiting their twins."""
        ...

    def key_for(self, request: Request) -> CacheRequest | None:
        """The call's cache identity, or None when the call is not cached."""
        ...

    def read(self, key: CacheRequest) -> AIMessage | None: ...

    async def aread(self, key: CacheRequest) -> AIMessage | None: ...

    def write(self, key: CacheRequest, message: AIMessage) -> None: ...

    async def awrite(self, key: CacheRequest, message: AIMessage) -> None: ...

    def hold(self, key: CacheRequest) -> AbstractContextManager[bool]: ...

    def ahold(self, key: CacheRequest) -> AbstractAsyncContextManager[bool]: ...


class RouterCache:
    """A `ResponseCache` in front of routing, partitioned by the router's namespace."""

    __slots__ = ("_identities", "cache", "namespace")

    def __init__(self, cache: ResponseCache, namespace: str) -> None:
        self.cache = cache
        self.namespace = namespace
        self._identities = Identities()

    @property
    def inline(self) -> bool:
        return self.cache.inline

    def key_for(self, request: Request) -> CacheRequest | None:
        """The call's identity: everything that shapes its answer.

        A call argument with no stable JSON form (an arbitrary object) cannot be keyed
        safely: that call skips the cache, with a warning, rather than risk a wrong hit.
        """
        if not request.route.cache:
            return None
        key = CacheRequest(
            messages=request.messages,
            task=request.task,
            namespace=self.namespace,
            params={**request.kwargs, "stop": request.stop},
            policy_version=self._identities.of(request.route),
        )
        try:
            self.cache.key(key)
        except TypeError as error:
            warnings.warn(f"This call is not cached: {error}", BackendUnavailableWarning, 4)
            return None
        return key

    def read(self, key: CacheRequest) -> AIMessage | None:
        return self.cache.lookup(key)

    async def aread(self, key: CacheRequest) -> AIMessage | None:
        return await self.cache.alookup(key)

    def write(self, key: CacheRequest, message: AIMessage) -> None:
        self.cache.store(key, message)

    async def awrite(self, key: CacheRequest, message: AIMessage) -> None:
        await self.cache.astore(key, message)

    def hold(self, key: CacheRequest) -> AbstractContextManager[bool]:
        return self.cache.coalesce(key)

    def ahold(self, key: CacheRequest) -> AbstractAsyncContextManager[bool]:
        return self.cache.acoalesce(key)


class NoCache:
    """The cache stage of a router without a cache: no call is cacheable."""

    __slots__ = ()

    inline = True

    def key_for(self, request: Request) -> CacheRequest | None:
        return None

    def read(self, key: CacheRequest) -> AIMessage | None:
        return None

    async def aread(self, key: CacheRequest) -> AIMessage | None:
        return None

    def write(self, key: CacheRequest, message: AIMessage) -> None:
        """Nothing to write to."""

    async def awrite(self, key: CacheRequest, message: AIMessage) -> None:
        """Nothing to write to."""

    def hold(self, key: CacheRequest) -> AbstractContextManager[bool]:
        return nullcontext(True)

    def ahold(self, key: CacheRequest) -> AbstractAsyncContextManager[bool]:
        return nullcontext(True)
