"""The cache stage: which calls the router caches, and the cache's reads and writes.

A router without a cache gets `NoCache`, whose `key_for` says no call is cacheable,
so the flow simply has no cache steps for it. The cache itself (keys, backends,
coalescing, the semantic layer) lives in `langchain_costrouter.cache`.
"""

from __future__ import annotations

import warnings
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from langchain_core.messages import AIMessage

from langchain_costrouter.cache import CacheRequest, ResponseCache
from langchain_costrouter.cache.canonical import canonical_params
from langchain_costrouter.cache.keys import digest
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.router._request import Request
from langchain_costrouter.routes import PINNED, Deployment, Route, endpoint_of


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

    __slots__ = ("_routes", "cache", "namespace")

    def __init__(self, cache: ResponseCache, namespace: str) -> None:
        self.cache = cache
        self.namespace = namespace
        self._routes: dict[int, tuple[Route, str]] = {}
        """`route_identity` by route (its id, the route kept so the id is never reused)."""

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
            policy_version=self._identity(request.route),
        )
        try:
            self.cache.key(key)
        except TypeError as error:
            warnings.warn(f"This call is not cached: {error}", BackendUnavailableWarning, 4)
            return None
        return key

    def read(self, key: CacheRequest) -> AIMessage | None:
        return self.cache.lookup(key)

    def _identity(self, route: Route) -> str:
        """The route's `route_identity`, worked out once per route (a pinned route of a
        call is new each time; its identity is cheap enough to work out each time)."""
        known = self._routes.get(id(route))
        if known is not None and known[0] is route:
            return known[1]
        identity = route_identity(route)
        if not route.version.startswith(PINNED):
            self._routes[id(route)] = (route, identity)
        return identity

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


def route_identity(route: Route) -> str:
    """The route's version and what its deployments answer with: each one's provider,
    model and endpoint, and the parameters the chat model identifies itself by
    (temperature, output cap, model kwargs; never a credential), as a digest.

    Part of every cache key, so an answer is replayed only to a route that would have
    given it: an app that moves a task to another model, or another temperature, and
    two apps sharing one Redis cache under the same task label, never serve each other's
    answers (a config file has no route version to bump by hand). The endpoint counts:
    one model name on two OpenAI-compatible servers is two models.
    """
    tiers = [[_deployment_form(d) for d in tier.deployments] for tier in route.tiers]
    return f"{route.version}|{digest({'version': route.version, 'tiers': tiers})}"


def _deployment_form(deployment: Deployment) -> dict[str, object]:
    try:
        params = canonical_params(deployment.model._identifying_params)
    except Exception:  # no stable JSON form, or a model that cannot tell: its label alone
        params = {}
    for streaming in ("stream", "streaming"):  # how the answer arrives, not what it says
        params.pop(streaming, None)
    form: dict[str, object] = {"label": deployment.label, "params": params}
    if (endpoint := endpoint_of(deployment.model)) is not None:
        form["endpoint"] = _public_endpoint(endpoint)
    return form


def _public_endpoint(url: str) -> str:
    """Scheme, host, port and path of a base URL: a proxy's password in its user info
    and a key in its query (Azure's ``?api-key=``) are credentials, not the endpoint."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # IPv6
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    except ValueError:  # a malformed port or IPv6 host: as it is, it might hold a secret
        return "(not a URL)"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


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
