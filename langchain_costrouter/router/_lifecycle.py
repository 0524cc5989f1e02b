"""Closing a router: ``close()``, ``aclose()`` and the ``with`` / ``async with`` blocks.

What a router opened from its fields' URLs is its own, and closing it closes them all
once, the last opened first (`_stores.Opened`): the shadow evaluation finishes the
samples it queued (its calls reserve on the budgets and write to the ledger, so it goes
first) and its threads end; the budget gate settles what its store owes or reports it
lost (budgets/gate.py), then closes the store, with the async client it opened in each
event loop (on that loop while it runs, `aclose` waiting for its caller's; without it
when the loop is idle or closed: budgets/loop_clients.py); the ledger writes every
row, closes its journal and ends its writer thread; the cache commits its queued
writes and ends its writer thread. Each
store closes with the code its own exit hook runs (the ledger's finalizer, the cache
write-behind's drain, the lease keeper's `give_up`), so a closed router leaves written
what an exiting process would. The calls' telemetry is flushed to the application's
providers, as at exit (`telemetry.flush`); the providers stay theirs, and so do the
threads every router of the process shares (budget leases, telemetry, semantic index).

A store passed in as an object (a `Ledger`, a `ResponseCache`, a `BudgetStore`) is the
caller's: it is neither flushed nor closed. A copy of a router (``model_copy``) shares
its stores, so closing either closes both.

A call after ``close()`` raises `RouterClosedError` before any provider call rather than
reopening the stores: nothing is spent that a closed ledger or budget could miss, and
files and connections that ``close()`` released are not opened again behind the
caller's back, with nobody left to close them.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Self

from langchain_costrouter.telemetry import flush as flush_reports

if TYPE_CHECKING:
    from langchain_costrouter.router._parts import RouterParts


class RouterLifecycle:
    """``close()``, ``aclose()`` and the context managers of `RoutedChatModel`."""

    if TYPE_CHECKING:  # `RoutedChatModel._current`

        def _current(self) -> RouterParts: ...

    def close(self) -> None:
        """Flush and close what this router opened; idempotent, safe from any thread.

        Waits for the shadow evaluation's queued samples (up to 30 s). Close once the
        router's calls have returned: a call still running finds its ledger closed, which
        then writes its rows on the call's thread (ledger/writer.py).
        """
        self._current().opened.close()
        flush_reports()

    async def aclose(self) -> None:
        """`close` on a worker thread: it joins threads and writes to databases, which
        must not stall the event loop's other tasks."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
