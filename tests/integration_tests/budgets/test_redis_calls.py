"""EVALSHA on held connections: a script Redis has not seen is loaded, a connection the
server dropped is replaced, and a thread that ends gives its connection back."""

from __future__ import annotations

import asyncio
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
import redis
import redis.asyncio

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext, redis_calls, redis_store
from langchain_costrouter.budgets.redis_calls import AsyncScriptRunner, LuaScript, ScriptRunner
from tests.integration_tests.budgets.conftest import clean_up

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


@pytest.mark.parametrize("amount", ["0.3", "0.6"], ids=["room-for-two", "room-for-one"])
def test_a_reservation_whose_reply_was_lost_is_counted_once(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, amount: str
) -> None:
    # The script ran, then the connection dropped before its reply was read: the runner
    # sends it again. Counted twice, the second amount had no lease to free it, so it
    # stayed reserved for good on a budget without a period (and for the window on one
    # with a period), however the first was settled.
    prefix = f"costrouter-test:{uuid.uuid4().hex}:"
    gate = BudgetGate(
        [Budget(name="all", limit_usd=1, period=None)], f"{redis_url}?prefix={prefix}"
    )
    lost = [redis_store._RESERVE.sha]
    sent = redis_calls._evalsha

    def reply_lost_once(connection: Any, script: LuaScript, keys: Any, args: Any) -> Any:
        reply = sent(connection, script, keys, args)
        if script.sha in lost:
            lost.remove(script.sha)
            raise redis.ConnectionError("Connection closed by server.")
        return reply

    monkeypatch.setattr(redis_calls, "_evalsha", reply_lost_once)
    context = CallContext("chat")
    # With room for one only, the second sending must not be refused: it holds already.
    gate.settle(gate.reserve(context, "d", Decimal(amount)), Decimal("0.1"))
    (status,) = gate.status(context)
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.1"), Decimal(0))
    assert not lost  # the reply was lost once, as meant
    clean_up(f"{redis_url}?prefix={prefix}")
