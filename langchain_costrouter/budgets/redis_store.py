"""``redis://``: budgets and rate limits shared by many machines, one Lua script per operation.

Calls go through `ScriptRunner` (budgets/redis_calls.py): EVALSHA on a connection the
thread holds. The async methods use ``redis.asyncio`` (one client per event loop, since
a connection belongs to the loop that opened it, closed as the loop ends), so a gate
never blocks an event loop on Redis.
On Redis Cluster, put a hash tag in the prefix (``?prefix={costrouter}:``) so the keys
of one call's budgets live on one shard, as a multi-key script requires.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
import redis.asyncio
import sqlalchemy as sa

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.budgets import redis_scripts
from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.model import RateLimit
from langchain_costrouter.budgets.redis_calls import AsyncScriptRunner, LuaScript, ScriptRunner
from langchain_costrouter.budgets.store import BudgetStore, RateGrant, Refusal
from langchain_costrouter.errors import BudgetStoreError, ConfigError

DEFAULT_PREFIX = "costrouter:budgets:"
_NO_LIMIT_WAIT = 1e18  # Lua reads no infinity from a string; this is as good.


class RedisStore(BudgetStore):
    """Counters in Redis under ``prefix``.

    Args:
        url: ``redis://[:password@]HOST:PORT/DB`` (``rediss://`` for TLS).
        prefix: Prepended to every key, so applications (and tests) share a database.
        timeout: Seconds to wait for a connection or a reply before the call fails.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 2.0) -> None:
        self.prefix = prefix
        self._client_url = url
        self._timeout = timeout
        self.url = shown_url(sa.make_url(url).render_as_string(hide_password=True))
        self._client = _client(url, self.url, timeout)
        self._runner = ScriptRunner(self._client)
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[AsyncScriptRunner, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    def reserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        keys, args = self._reserve_args(claims, amount, lease_seconds, reservation_id)
        with self._errors():
            return _refusal(self._runner.run(_RESERVE, keys, args))

    def settle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        keys, args = self._settle_args(claims, reservation_id, amount, actual)
        with self._errors():
            return [int(spent) for spent in self._runner.run(_SETTLE, keys, args)]

    def renew(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, lease_seconds: float
    ) -> bool:
        args = [f"{reservation_id}:{amount}", max(1, int(lease_seconds * 1000))]
        with self._errors():
            return int(self._runner.run(_RENEW, self._account_keys(claims), args)) > 0

    def read(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        with self._errors():
            return _pairs(self._runner.run(_READ, self._account_keys(claims), []))

    def acquire_rate(self, key: str, limit: RateLimit, tokens: int, max_wait: float) -> RateGrant:
        with self._errors():
            reply = self._runner.run(
                _RATE, [self.prefix + "r:" + key], _rate_args(limit, tokens, max_wait)
            )
        return _grant(reply)

    async def areserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        keys, args = self._reserve_args(claims, amount, lease_seconds, reservation_id)
        with self._errors():
            runner = await self._loop_runner()
            return _refusal(await runner.run(_RESERVE, keys, args))

    async def asettle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        keys, args = self._settle_args(claims, reservation_id, amount, actual)
        with self._errors():
            runner = await self._loop_runner()
            return [int(spent) for spent in await runner.run(_SETTLE, keys, args)]

    async def aread(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        with self._errors():
            runner = await self._loop_runner()
            return _pairs(await runner.run(_READ, self._account_keys(claims), []))

    async def aacquire_rate(
        self, key: str, limit: RateLimit, tokens: int, max_wait: float
    ) -> RateGrant:
        args = _rate_args(limit, tokens, max_wait)
        with self._errors():
            runner = await self._loop_runner()
            reply = await runner.run(_RATE, [self.prefix + "r:" + key], args)
        return _grant(reply)

    def close(self) -> None:
        self._client.close()

    def _account_keys(self, claims: Sequence[Claim]) -> list[str]:
        return [
            name for c in claims for name in (f"{self.prefix}b:{c.key}", f"{self.prefix}l:{c.key}")
        ]

    def _reserve_args(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> tuple[list[str], list[Any]]:
        args: list[Any] = [amount, max(1, int(lease_seconds * 1000)), f"{reservation_id}:{amount}"]
        for claim in claims:
            args += [claim.limit, _expire_ms(claim)]
        return self._account_keys(claims), args

    def _settle_args(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> tuple[list[str], list[Any]]:
        args: list[Any] = [f"{reservation_id}:{amount}", amount, actual]
        args += [_expire_ms(claim) for claim in claims]
        return self._account_keys(claims), args

    async def _loop_runner(self) -> AsyncScriptRunner:
        """This event loop's runner (a connection belongs to the loop that opened it)."""
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is not None:
            return entry[0]
        client = redis.asyncio.Redis.from_url(
            self._client_url, socket_connect_timeout=self._timeout, socket_timeout=self._timeout
        )
        runner, closer = AsyncScriptRunner(client), self._closed_with_loop(loop, client)
        self._async[loop] = (runner, closer)
        await closer.asend(None)
        return runner

    async def _closed_with_loop(
        self, loop: asyncio.AbstractEventLoop, client: redis.asyncio.Redis
    ) -> AsyncGenerator[None, None]:
        """Suspended for as long as ``loop`` runs; `asyncio.run` (and `asyncio.Runner`)
        close it as the loop ends, which closes the client's connections in that loop.

        The client's connections hold the loop, so the entry of `_async` kept both alive
        for good: a sync app calling ``asyncio.run`` per request left a socket open per
        request until the process ran out of file descriptors.
        """
        try:
            yield
        finally:
            self._async.pop(loop, None)
            await client.aclose()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as error:
            raise BudgetStoreError(self.url, error) from error


_RESERVE = LuaScript(redis_scripts.RESERVE)
_SETTLE = LuaScript(redis_scripts.SETTLE)
_RENEW = LuaScript(redis_scripts.RENEW)
_READ = LuaScript(redis_scripts.READ)
_RATE = LuaScript(redis_scripts.ACQUIRE_RATE)


def _client(url: str, shown: str, timeout: float) -> redis.Redis:
    """A client for ``url``, its query options checked now rather than at the first call.

    redis-py takes any query key and hands it to each new connection: a misspelt option
    would be a TypeError at the first reservation (not a `BudgetStoreError`, so
    ``on_store_error`` never sees it). A connection object is built, without connecting,
    to ask redis-py itself.
    """
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"budget store {shown!r} has an option redis-py does not take ({error}); the "
            "store itself reads prefix, the others go to redis-py",
            key="budget_store",
        ) from None
    return client


def _expire_ms(claim: Claim) -> int:
    return 0 if claim.expires_at is None else int(claim.expires_at * 1000)


def _rate_args(limit: RateLimit, tokens: int, max_wait: float) -> list[Any]:
    return [limit.rpm or 0, limit.tpm or 0, tokens, min(max_wait, _NO_LIMIT_WAIT)]


def _refusal(reply: list[Any]) -> Refusal | None:
    if int(reply[0]) == 0:
        return None
    return Refusal(index=int(reply[0]) - 1, spent=int(reply[1]), reserved=int(reply[2]))


def _pairs(reply: list[list[Any]]) -> list[tuple[int, int]]:
    return [(int(spent), int(reserved)) for spent, reserved in reply]


def _grant(reply: list[Any]) -> RateGrant:
    return RateGrant(granted=int(reply[0]) == 1, wait_seconds=float(reply[1]))
