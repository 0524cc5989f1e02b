"""The I/O steps the cascade yields, and the drivers that perform them.

`cascade.run_cascade` decides; a driver carries out each `CallModel`, `RunCheck` or
`Sleep` with blocking (`drive`) or awaited (`adrive`) I/O and sends the result back.
Keeping the two drivers this thin is what lets sync and async share one policy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.checks.result import aevaluate_check, evaluate_check
from langchain_costrouter.routes import Deployment

if TYPE_CHECKING:
    from langchain_costrouter.cascade import CascadeOutcome


@dataclass(frozen=True, slots=True)
class CallModel:
    deployment: Deployment
    tier: int


@dataclass(frozen=True, slots=True)
class RunCheck:
    check: QualityCheck
    answer: AIMessage
    previous: tuple[AIMessage, ...]


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


class Called(NamedTuple):
    """What a driver sends back for `CallModel`: an answer or the error, and the time.

    A named tuple: one is built for every call a router makes.
    """

    message: AIMessage | None
    error: BaseException | None
    latency_ms: float


@dataclass(frozen=True, slots=True)
class Checked:
    """What a driver sends back for `RunCheck`: the score, why, and paid side calls."""

    score: float
    reason: str = ""
    side_calls: tuple[AIMessage, ...] = ()


Step = CallModel | RunCheck | Sleep


class Primed(NamedTuple):
    """A call made before the cascade started, and the deployment it went to."""

    deployment: Deployment
    called: Called


def use_primed(step: Step, primed: Primed | None) -> tuple[Called | None, Primed | None]:
    """The primed result if ``step`` is the call it stands for, and what stays primed.

    It is offered once, to the cascade's first `CallModel`: a cascade that starts
    with another deployment (its breaker opened meanwhile) drops it rather than hand
    one provider's result to another.
    """
    if primed is None or not isinstance(step, CallModel):
        return None, primed
    return (primed.called if step.deployment is primed.deployment else None), None


CallFn = Callable[[Deployment], AIMessage]


def drive(
    flow: Generator[Step, Any, CascadeOutcome],
    call: CallFn,
    messages: Sequence[BaseMessage],
    primed: Primed | None = None,
) -> CascadeOutcome:
    """Run the cascade with blocking I/O; ``primed`` answers its first `CallModel`."""
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        answer, primed = use_primed(step, primed)
        reply = answer if answer is not None else perform(step, call, messages)


def perform(step: Step, call: CallFn, messages: Sequence[BaseMessage]) -> Called | Checked | None:
    """Carry out one step with blocking I/O."""
    if isinstance(step, CallModel):
        return timed(call, step.deployment)
    if isinstance(step, RunCheck):
        result = evaluate_check(step.check, messages, step.answer, previous=step.previous)
        return Checked(result.score, result.reason, result.cost_messages)
    time.sleep(step.seconds)
    return None


async def adrive(
    flow: Generator[Step, Any, CascadeOutcome],
    acall: Callable[[Deployment], Any],
    messages: Sequence[BaseMessage],
    primed: Primed | None = None,
) -> CascadeOutcome:
    """Run the cascade with awaited I/O; ``primed`` answers its first `CallModel`."""
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        answer, primed = use_primed(step, primed)
        reply = answer if answer is not None else await aperform(step, acall, messages)


async def aperform(
    step: Step, acall: Callable[[Deployment], Any], messages: Sequence[BaseMessage]
) -> Called | Checked | None:
    """Carry out one step with awaited I/O."""
    if isinstance(step, CallModel):
        return await atimed(acall, step.deployment)
    if isinstance(step, RunCheck):
        result = await aevaluate_check(step.check, messages, step.answer, previous=step.previous)
        return Checked(result.score, result.reason, result.cost_messages)
    await asyncio.sleep(step.seconds)
    return None


def timed(call: CallFn, deployment: Deployment) -> Called:
    start = time.perf_counter()
    try:
        message = call(deployment)
    except Exception as error:  # handed to the policy, which re-raises non-provider errors
        return Called(None, error, (time.perf_counter() - start) * 1000)
    return Called(message, None, (time.perf_counter() - start) * 1000)


async def atimed(acall: Callable[[Deployment], Any], deployment: Deployment) -> Called:
    start = time.perf_counter()
    try:
        message = await acall(deployment)
    except Exception as error:  # handed to the policy, which re-raises non-provider errors
        return Called(None, error, (time.perf_counter() - start) * 1000)
    return Called(message, None, (time.perf_counter() - start) * 1000)
