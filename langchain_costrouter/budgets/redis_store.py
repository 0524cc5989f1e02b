"""``redis://``: budgets and rate limits shared by many machines, one Lua script per operation.

Calls go through `ScriptRunner` (budgets/redis_calls.py): EVALSHA on a connection the
thread holds. The async methods use ``redis.asyncio`` (one client per event loop, since
a connection belongs to the loop that opened it, closed as the loop ends or with the
store: budgets/loop_clients.py), so a gate never blocks an event loop on Redis.
On Redis Cluster, put a hash tag in the prefix (``?prefix={costrouter}:``) so the keys
of one call's budgets live on one shard, as a multi-key script requires.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import redis
import redis.asyncio
import sqlalchemy as sa

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.budgets import redis_scripts
from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.loop_clients import LoopClients
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
        self.url = shown_url(sa.make_url(url).render_as_string(hide_password=True))
        self._client = _client(url, self.url, timeout)
        self._runner = ScriptRunner(self._client)
        self._loops = LoopClients(
            lambda: _async_runner(url, timeout), _aclose_runner, _shut_sockets
        )

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
            runner = await self._loops.get()
            return _refusal(await runner.run(_RESERVE, keys, args))

    async def asettle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        keys, args = self._settle_args(claims, reservation_id, amount, actual)
        with self._errors():
            runner = await self._loops.get()
            return [int(spent) for spent in await runner.run(_SETTLE, keys, args)]

    async def aread(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        with self._errors():
            runner = await self._loops.get()
            return _pairs(await runner.run(_READ, self._account_keys(claims), []))

    async def aacquire_rate(
        self, key: str, limit: RateLimit, tokens: int, max_wait: float
    ) -> RateGrant:
        args = _rate_args(limit, tokens, max_wait)
        with self._errors():
            runner = await self._loops.get()
            reply = await runner.run(_RATE, [self.prefix + "r:" + key], args)
        return _grant(reply)

    def close(self) -> None:
        """Close the blocking client and every event loop's async one."""
        self._loops.close_all()
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


def _async_runner(url: str, timeout: float) -> AsyncScriptRunner:
    """A runner on a client of the running event loop (budgets/loop_clients.py)."""
    client = redis.asyncio.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    return AsyncScriptRunner(client)


async def _aclose_runner(runner: AsyncScriptRunner) -> None:
    await runner.client.aclose()


def _shut_sockets(runner: AsyncScriptRunner) -> None:
    """End a runner's connections without its loop: shut each socket down (thread-safe;
    the loop's transport still owns and closes the descriptor). redis-py has no public
    list of a pool's connections nor of a connection's stream; a version without these
    attributes leaves the connections to be closed when Python collects them."""
    pool: Any = runner.client.connection_pool
    connections = [
        *getattr(pool, "_available_connections", ()),
        *getattr(pool, "_in_use_connections", ()),
    ]
    for connection in connections:
        writer = getattr(connection, "_writer", None)
        sock = None if writer is None else writer.transport.get_extra_info("socket")
        if sock is not None:
            with suppress(OSError):  # already shut, or never connected
                sock.shutdown(socket.SHUT_RDWR)


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
