"""EVALSHA on held connections: a script Redis has not seen is loaded, a connection the
server dropped is replaced, and a thread that ends gives its connection back."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
import redis
import redis.asyncio

from langchain_costrouter.budgets.redis_calls import AsyncScriptRunner, LuaScript, ScriptRunner

pytestmark = pytest.mark.services


def _unseen_script() -> LuaScript:
    """A script no server has loaded yet: its first EVALSHA meets NOSCRIPT."""
    return LuaScript(f"return {{'{uuid.uuid4().hex}', KEYS[1], ARGV[1]}}")


def _named_client(redis_url: str) -> tuple[redis.Redis, str]:
    name = f"costrouter-test-{uuid.uuid4().hex[:12]}"
    return redis.Redis.from_url(redis_url, client_name=name), name


def _connections_named(redis_url: str, name: str) -> list[dict[str, str]]:
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [c for c in admin.client_list() if c["name"] == name]
    finally:
        admin.close()


def test_a_script_redis_has_never_seen_is_loaded_and_run(redis_url: str) -> None:
    script, client = _unseen_script(), redis.Redis.from_url(redis_url)
    runner = ScriptRunner(client)
    reply = runner.run(script, ["k"], [7])
    assert reply[1:] == [b"k", b"7"]
    assert client.script_exists(script.sha) == [True]
    assert runner.run(script, ["k2"], [8])[1:] == [b"k2", b"8"]
    client.close()


def test_the_async_runner_loads_an_unseen_script_too(redis_url: str) -> None:
    async def run() -> list[bytes]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            return list(await AsyncScriptRunner(client).run(_unseen_script(), ["k"], [7]))
        finally:
            await client.aclose()

    assert asyncio.run(run())[1:] == [b"k", b"7"]


def test_a_connection_the_server_dropped_is_replaced(redis_url: str) -> None:
    client, name = _named_client(redis_url)
    runner, script = ScriptRunner(client), _unseen_script()
    runner.run(script, ["k"], [1])
    (held,) = _connections_named(redis_url, name)
    admin = redis.Redis.from_url(redis_url)
    assert admin.client_kill_filter(_id=held["id"]) == 1
    admin.close()
    assert runner.run(script, ["k"], [2])[1:] == [b"k", b"2"]
    (replacement,) = _connections_named(redis_url, name)
    assert replacement["id"] != held["id"]
    client.close()


def test_threads_hold_their_own_connection_and_give_it_back_when_they_end(
    redis_url: str,
) -> None:
    client, name = _named_client(redis_url)
    runner, script = ScriptRunner(client), _unseen_script()
    together = threading.Barrier(3)

    def call_at_once() -> None:
        together.wait()
        runner.run(script, ["k"], [1])
        together.wait()  # every thread holds its connection here

    threads = [threading.Thread(target=call_at_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_connections_named(redis_url, name)) == 3
    for _ in range(20):  # short-lived threads reuse the connections given back
        thread = threading.Thread(target=runner.run, args=(script, ["k"], [1]))
        thread.start()
        thread.join()
    assert len(_connections_named(redis_url, name)) == 3
    client.close()
