"""How each step of a routed call other than a provider call is performed: its cache
reads and writes, its coalescing flight, its checks, backoff sleeps, compressor calls,
and its budget and rate-limit steps, each blocking and awaited.

`_io.RouterIO` performs a step by looking its type up in `PERFORM`; it performs the
provider calls (`CallModel`) itself, before that look-up, as they are the common step
and carry the call's in-flight and telemetry bookkeeping. A budget's refusal is the
reply of its step, not an exception: the cascade decides what follows (`_budget`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol

from langchain_costrouter.budgets import Gate, Reservation
from langchain_costrouter.compression.pipeline import CompressorCall
from langchain_costrouter.compression.runnable import CompressorIO
from langchain_costrouter.errors import BudgetExhaustedError
from langchain_costrouter.router._cache import CacheStage
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import (
    AcquireRate,
    Charge,
    Downgrade,
    HoldFlight,
    ReadCache,
    Reserve,
    RunCheck,
    Settle,
    Sleep,
    WriteCache,
)

_COMPRESSOR_IO = CompressorIO(None)  # the caller's run config reaches it through context


class StepIO(Protocol):
    """What the performers use of `_io.RouterIO` (named here, as `_io` imports them)."""

    request: Request
    cache: CacheStage
    gate: Gate
    held: list[AbstractContextManager[bool]]
    aheld: list[AbstractAsyncContextManager[bool]]


def _hold(io: StepIO, step: HoldFlight) -> bool:
    flight = io.cache.hold(step.key)
    leader = flight.__enter__()
    io.held.append(flight)
    return leader


async def _ahold(io: StepIO, step: HoldFlight) -> bool:
    flight = io.cache.ahold(step.key)
    leader = await flight.__aenter__()
    io.aheld.append(flight)
    return leader


def _reserve(io: StepIO, step: Reserve) -> Reservation | BudgetExhaustedError:
    """A refusal is the reply, not an exception: the cascade decides what follows."""
    context = io.request.budget_context()
    try:
        return io.gate.reserve(context, step.deployment.label, step.worst_case_usd)
    except BudgetExhaustedError as refusal:
        return refusal


async def _areserve(io: StepIO, step: Reserve) -> Reservation | BudgetExhaustedError:
    context = io.request.budget_context()
    try:
        return await io.gate.areserve(context, step.deployment.label, step.worst_case_usd)
    except BudgetExhaustedError as refusal:
        return refusal


def _downgrade(io: StepIO, step: Downgrade) -> tuple[str, Reservation] | BudgetExhaustedError:
    try:
        return io.gate.downgrade_target(io.request.budget_context(), step.options)
    except BudgetExhaustedError as refusal:
        return refusal


async def _adowngrade(
    io: StepIO, step: Downgrade
) -> tuple[str, Reservation] | BudgetExhaustedError:
    try:
        return await io.gate.adowngrade_target(io.request.budget_context(), step.options)
    except BudgetExhaustedError as refusal:
        return refusal


# Per step type: how to perform it blocking, and awaited (a coroutine function).
PERFORM: dict[type, tuple[Callable[[StepIO, Any], Any], Callable[[StepIO, Any], Any]]] = {
    ReadCache: (lambda io, s: io.cache.read(s.key), lambda io, s: io.cache.aread(s.key)),
    RunCheck: (
        lambda io, s: s.check.evaluate(io.request.messages, s.answer, previous=s.previous),
        lambda io, s: s.check.aevaluate(io.request.messages, s.answer, previous=s.previous),
    ),
    Sleep: (lambda io, s: time.sleep(s.seconds), lambda io, s: asyncio.sleep(s.seconds)),
    HoldFlight: (_hold, _ahold),
    WriteCache: (
        lambda io, s: io.cache.write(s.key, s.message),
        lambda io, s: io.cache.awrite(s.key, s.message),
    ),
    CompressorCall: (
        lambda io, s: _COMPRESSOR_IO.perform(s),
        lambda io, s: _COMPRESSOR_IO.aperform(s),
    ),
    AcquireRate: (
        lambda io, s: io.gate.acquire_rate(s.deployment.label, s.tokens, s.max_wait),
        lambda io, s: io.gate.aacquire_rate(s.deployment.label, s.tokens, s.max_wait),
    ),
    Reserve: (_reserve, _areserve),
    Downgrade: (_downgrade, _adowngrade),
    Settle: (
        lambda io, s: io.gate.settle(s.reservation, s.cost_usd),
        lambda io, s: io.gate.asettle(s.reservation, s.cost_usd),
    ),
    Charge: (
        lambda io, s: io.gate.charge(
            io.request.budget_context(), s.role, s.cost_usd, counted=s.counted
        ),
        lambda io, s: io.gate.acharge(
            io.request.budget_context(), s.role, s.cost_usd, counted=s.counted
        ),
    ),
}
