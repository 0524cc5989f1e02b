"""Send a plan's batches with bounded concurrency: a thread-pool twin and an asyncio twin.

Both drivers only move batches between the plan and the provider; every decision
stays in `BatchPlan.settle`, which always runs on the driver's own thread (or event
loop), so the plan needs no lock.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
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
    max_concurrency: int,
) -> None:
    """Run ``batches`` and every follow-up on ``executor`` until the plan is settled.

    At most ``max_concurrency`` batches are handed to the executor at a time; the rest
    wait here, so an error (a bug in a schema, anything not a provider error) stops the
    run without sending, and paying for, the batches still waiting.
    """
    waiting = deque(batches)
    pending: dict[Future[CallOutcome], Batch] = {}
    while waiting or pending:
        while waiting and len(pending) < max_concurrency:
            batch = waiting.popleft()
            pending[executor.submit(call, batch)] = batch
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            batch = pending.pop(future)
            waiting.extend(plan.settle(batch, future.result()))


async def run_async(
    plan: BatchPlan,
    batches: list[Batch],
    acall: Callable[[Batch], Awaitable[CallOutcome]],
    max_concurrency: int,
) -> None:
    """Run ``batches`` and every follow-up with at most ``max_concurrency`` calls in flight.

    The asyncio twin of `run_sync`. On an error or a cancellation the calls in flight
    are cancelled and awaited: none goes on, and on being paid for, after the run ended.
    """
    waiting = deque(batches)
    running: dict[asyncio.Future[CallOutcome], Batch] = {}
    try:
        while waiting or running:
            while waiting and len(running) < max_concurrency:
                batch = waiting.popleft()
                running[asyncio.ensure_future(acall(batch))] = batch
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                batch = running.pop(task)
                waiting.extend(plan.settle(batch, task.result()))
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
