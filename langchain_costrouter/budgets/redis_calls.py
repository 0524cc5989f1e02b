"""One EVALSHA per store operation, with as little client work around it as redis-py allows.

``Redis.evalsha`` takes a pooled connection, checks it for unread data with a system
call, wraps the call in retries and metrics, and gives it back, on every call; that
costs more than the round trip itself on loopback (bench/budget.py measures both).
`ScriptRunner` keeps one connection of the client's pool per thread and talks to it
directly: send the command, read the reply. redis-py still connects, authenticates,
selects the database and parses replies, and disconnects a connection whose command
failed half-way, so a held connection never reads another command's reply. The async
runner takes a connection from the pool per call (coroutines of one thread interleave).

A connection the server dropped (it restarted) is replaced and the call sent once more;
a reservation sent again is counted once (budgets/redis_scripts.py), a settlement's cost
can at worst be counted twice, which errs on the side of the budget. A script the
server forgot (``SCRIPT FLUSH``, a restart) is loaded again.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio


class LuaScript:
    """A script's source and the SHA1 Redis names it by (computed here, so the first
    call needs no SCRIPT LOAD)."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


class _Held:
    """A thread's connection, given back to the pool when the thread ends."""

    __slots__ = ("__weakref__", "connection", "pid")

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self.connection = pool.get_connection()
        self.pid = os.getpid()
        weakref.finalize(self, pool.release, self.connection)


class ScriptRunner:
    """Scripts run on the calling thread's connection of ``client``'s pool."""

    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._local = threading.local()

    def run(self, script: LuaScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        connection = self._connection()
        try:
            return _evalsha(connection, script, keys, args)
        except redis.ConnectionError:
            connection.disconnect()
            return _evalsha(connection, script, keys, args)  # connects again

    def _connection(self) -> Any:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():  # a forked child opens its own
            held = self._local.held = _Held(self._pool)
        return held.connection


class AsyncScriptRunner:
    """`ScriptRunner` for one event loop's client: a pooled connection per call."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._pool = client.connection_pool

    async def run(self, script: LuaScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            try:
                return await _aevalsha(connection, script, keys, args)
            except redis.ConnectionError:
                await connection.disconnect()
                return await _aevalsha(connection, script, keys, args)
        finally:
            await self._pool.release(connection)


def _evalsha(connection: Any, script: LuaScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
    try:
        return connection.read_response()
    except redis.exceptions.NoScriptError:
        connection.send_command("SCRIPT", "LOAD", script.source)
        connection.read_response()
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return connection.read_response()


async def _aevalsha(
    connection: Any, script: LuaScript, keys: Sequence[str], args: Sequence[Any]
) -> Any:
    await connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
    try:
        return await connection.read_response()
    except redis.exceptions.NoScriptError:
        await connection.send_command("SCRIPT", "LOAD", script.source)
        await connection.read_response()
        await connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return await connection.read_response()
