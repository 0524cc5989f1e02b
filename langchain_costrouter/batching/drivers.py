"""Send a plan's batches with bounded concurrency: a thread-pool twin and an asyncio twin.

Both drivers only move batches between the plan and the provider; every decision
stays in `BatchPlan.settle`, which always runs on the driver's own thread (or event
loop), so the plan needs no lock.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

from tqdm import tqdm

from langchain_costrouter.batching.plan import Batch, BatchPlan
from langchain_costrouter.batching.results import CallOutcome


def progress_bar(total: int, enabled: bool | None, *, min_total: int) -> tqdm[Any]:
    """A tqdm bar on stderr; by default only for long lists and when stderr is a terminal.

    Scripts and CI capture stderr, where a bar is only noise, hence the terminal check.
    """
    show = (sys.stderr.isatty() and total >= min_total) if enabled is None else enabled
    return tqdm(total=total, unit="item", desc="batching", disable=not show, file=sys.stderr)


def run_sync(
    plan: BatchPlan,
    batches: list[Batch],
    call: Callable[[Batch], CallOutcome],
    executor: Executor,
) -> None:
    """Run ``batches`` and every follow-up on ``executor`` until the plan is settled."""
    pending: dict[Future[CallOutcome], Batch] = {
        executor.submit(call, batch): batch for batch in batches
    }
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            batch = pending.pop(future)
            for follow_up in plan.settle(batch, future.result()):
                pending[executor.submit(call, follow_up)] = follow_up


async def run_async(
    plan: BatchPlan,
    batches: list[Batch],
    acall: Callable[[Batch], Awaitable[CallOutcome]],
    max_concurrency: int,
) -> None:
    """Run ``batches`` and every follow-up with at most ``max_concurrency`` calls in flight."""
    slots = asyncio.Semaphore(max_concurrency)

    async def send(batch: Batch) -> None:
        async with slots:
            outcome = await acall(batch)
        await asyncio.gather(*(send(follow_up) for follow_up in plan.settle(batch, outcome)))

    await asyncio.gather(*(send(batch) for batch in batches))
