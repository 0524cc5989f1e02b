"""``close()`` and ``aclose()`` close the budget store's per-event-loop async clients too
(real Redis, real Postgres, real ChatOpenAI on the local server).

A Redis or Postgres budget store opens one async client per event loop (a connection
belongs to the loop that opened it). Before, the router's close closed only the store's
blocking client: after ``await router.aclose()`` the async connections stayed open on
the server. They are counted there by a connection name only this test's store uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_costrouter import Budget, RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer
from tests.integration_tests.budgets.loop_clients import NamedStore, named_store
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.services


@pytest.fixture(params=["redis", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[NamedStore]:
    yield from named_store(request.param, request)


def _router(server: LocalOpenAIServer, url: str) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"chat": [openai_chat(server, "gpt-4o-mini")]},
        default_task="chat",
        budgets=[Budget(name="all", limit_usd=1, per=None, soft_threshold=None)],
        budget_store=url,
    )


async def test_aclose_closes_the_store_s_connections_of_the_calling_loop(
    openai_server: LocalOpenAIServer, store: NamedStore
) -> None:
    router = _router(openai_server, store.url)
    await asyncio.gather(*(router.ainvoke(f"What is {n} + {n}?") for n in range(3)))
    assert store.connections() >= 1  # the loop's async client's
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
    await router.aclose()
    assert store.closed()
    await asyncio.sleep(0.05)  # a close left to the loop would report here
    assert errors == []


def test_close_closes_the_connections_of_a_loop_that_has_ended(
    openai_server: LocalOpenAIServer, store: NamedStore
) -> None:
    """``asyncio.run`` ended its loop; what the store opened on it is closed by close()
    (Redis closed its client as the loop ended already, Postgres did not)."""
    router = _router(openai_server, store.url)
    asyncio.run(router.ainvoke("hi"))
    router.invoke("hi again")
    assert store.connections() >= 1
    router.close()
    assert store.closed()
