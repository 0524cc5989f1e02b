"""Store writes that run to their end although the caller awaiting them is cancelled.

A settlement turns a reservation into what the attempt cost; a give-back frees a
reservation whose caller never learnt it was made. Both run while a call winds down,
often because it was cancelled, and anyio's cancel scopes (Starlette and sse-starlette
cancel a request's task group when its client disconnects; ``anyio.move_on_after`` is
a timeout) cancel the task again at every await until it leaves the scope. Awaited in
the caller's task, the write was cancelled half-way through its round trip: the
reservation held its budget until its lease ran out (10 minutes by default) and the
cost, recorded in the ledger, never reached the budget. The write runs in a task of its
own instead, which the caller's cancellation does not reach; the caller's
`asyncio.CancelledError` still goes on at once, and what the write reports (a soft
threshold crossed, a store that failed) is reported when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_RUNNING: set[asyncio.Future[Any]] = set()
"""Writes under way whose caller was cancelled: held here, or the loop might drop them."""


async def to_the_end(
    write: Coroutine[Any, Any, T], on_orphaned: Callable[[asyncio.Future[T]], object]
) -> T:
    """Await ``write``; if the caller is cancelled meanwhile, let it finish anyway.

    ``on_orphaned`` is called with the finished write (its result, its error, or
    cancelled by the loop's own shutdown) when the caller stopped waiting for it.
    """
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        task.add_done_callback(on_orphaned)
        raise
