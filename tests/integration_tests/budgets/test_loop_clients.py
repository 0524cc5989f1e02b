"""A Redis or Postgres store's close closes the async client of every event loop it
served, whatever became of the loop (real Redis, real Postgres, connections counted on
the server by their name): the loop still running in another thread, the loop whose
coroutine calls the blocking ``close()``, a loop left idle, a loop closed without ending
its async generators. None of them reports an error, on the loop or when collected. A
loop that ``asyncio.run`` ends closes its client itself, the store still open.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
from tests.integration_tests.budgets.loop_clients import NamedStore, named_store

pytestmark = pytest.mark.services
CHAT = CallContext("chat", {})
ALL = Budget(name="all", limit_usd=1, per=None, soft_threshold=None)


@pytest.fixture(params=["redis", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[NamedStore]:
    yield from named_store(request.param, request)


@pytest.fixture
def unraisable() -> Iterator[list[Any]]:
    """What Python reports as raised where nothing could catch it (a ``__del__``, a
    generator's finaliser), collected after the test's last garbage collection."""
    seen: list[Any] = []
    before, sys.unraisablehook = sys.unraisablehook, seen.append
    yield seen
    sys.unraisablehook = before


async def _spend(gate: BudgetGate) -> None:
    """A reservation and its settlement, through the store's async client of this loop."""
    reservation = await gate.areserve(CHAT, "d", Decimal("0.01"))
    await gate.asettle(reservation, Decimal("0.005"))


def _noting_errors(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    return errors


def test_a_loop_running_in_another_thread_has_its_client_closed_on_it(
    store: NamedStore,
) -> None:
    gate = BudgetGate([ALL], store.url)
    loop = asyncio.new_event_loop()
    errors = _noting_errors(loop)
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(_spend(gate), loop).result(10)
        assert store.connections() >= 1
        gate.close()
        assert store.closed()
        assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "alive"), loop).result(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    assert errors == []


def test_a_blocking_close_inside_a_coroutine_closes_its_loop_s_client_as_it_awaits(
    store: NamedStore,
) -> None:
    gate = BudgetGate([ALL], store.url)

    async def spend_then_close() -> tuple[bool, list[dict[str, Any]]]:
        errors = _noting_errors(asyncio.get_running_loop())
        await _spend(gate)
        gate.close()  # blocks this loop: its client closes once the coroutine awaits
        for _ in range(100):
            await asyncio.sleep(0.02)
            if not store.connections():
                return True, errors
        return False, errors

    assert asyncio.run(spend_then_close()) == (True, [])  # before the loop ended


def test_an_idle_loop_has_its_client_closed_and_still_ends_cleanly(
    store: NamedStore, unraisable: list[Any]
) -> None:
    gate = BudgetGate([ALL], store.url)
    loop = asyncio.new_event_loop()
    errors = _noting_errors(loop)
    loop.run_until_complete(_spend(gate))
    assert store.connections() >= 1
    gate.close()
    assert store.closed()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    gc.collect()
    assert (errors, unraisable) == ([], [])


def test_a_loop_closed_without_ending_its_generators_has_its_connections_closed(
    store: NamedStore, unraisable: list[Any]
) -> None:
    gate = BudgetGate([ALL], store.url)
    loop = asyncio.new_event_loop()
    errors = _noting_errors(loop)
    loop.run_until_complete(_spend(gate))
    loop.close()  # no shutdown_asyncgens: nothing ran as the loop ended
    assert store.connections() >= 1
    gate.close()
    assert store.closed()
    asyncio.run(asyncio.sleep(0))  # collected while another loop runs, too
    gc.collect()
    assert (errors, unraisable) == ([], [])


def test_the_end_of_asyncio_run_closes_its_loop_s_client_with_nothing_left_to_collect(
    store: NamedStore,
) -> None:
    """Redis did so already; Postgres left its pool to the garbage collector, whose
    psycopg connections then warned "deleted while still open"."""
    gate = BudgetGate([ALL], store.url)
    gc.collect()  # what earlier tests left is not this test's
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        asyncio.run(_spend(gate))
        gc.collect()
    assert store.closed()  # before the store's close
    assert [str(w.message) for w in seen if w.category is ResourceWarning] == []
    gate.close()
