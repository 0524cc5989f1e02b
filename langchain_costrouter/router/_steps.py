"""The I/O steps a routed call's flow yields, and what a driver sends back for each.

The flow (`_flow.serve`) and the cascade policy (`_cascade.run_cascade`) never do I/O
themselves: they yield one of these values and receive the result. A driver
(`langchain_costrouter._sansio.drive` or `adrive`) performs the step with blocking or
awaited I/O, which is how invoke, ainvoke, stream, astream and batch share one
implementation.

Compression's own step, `CompressorCall`, is yielded through the flow as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from langchain_core.messages import AIMessage

from langchain_costrouter.budgets import Reservation
from langchain_costrouter.cache import CacheRequest
from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.compression.pipeline import CompressorCall
from langchain_costrouter.routes import Deployment


@dataclass(frozen=True, slots=True)
class ReadCache:
    """Look the call up in the cache; the reply is a `CacheHit` or None."""

    key: CacheRequest


@dataclass(frozen=True, slots=True)
class HoldFlight:
    """Join the call's coalescing flight; the reply is True for its leader.

    The driver holds the flight until the call ends (after `WriteCache`), so followers
    of an identical call wait for the leader's answer instead of paying for their own.
    """

    key: CacheRequest


@dataclass(frozen=True, slots=True)
class WriteCache:
    """Store an accepted, complete answer."""

    key: CacheRequest
    message: AIMessage


@dataclass(frozen=True, slots=True)
class CallModel:
    """Call one deployment with the request; the reply is a `Called`.

    ``checked`` says whether the tier judges the answer: a streaming call streams an
    unchecked tier's answer live, and buffers a checked one until it is accepted.
    """

    deployment: Deployment
    tier: int
    checked: bool


@dataclass(frozen=True, slots=True)
class RunCheck:
    """Judge an answer; the reply is a `CheckResult`."""

    check: QualityCheck
    answer: AIMessage
    previous: tuple[AIMessage, ...]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Back off before a retry."""

    seconds: float


@dataclass(frozen=True, slots=True)
class AcquireRate:
    """Take a request and ``tokens`` from a deployment's shared per-minute limits; the
    reply is a `RateGrant` (not granted: nothing taken, fail over)."""

    deployment: Deployment
    tokens: int
    max_wait: float


@dataclass(frozen=True, slots=True)
class Reserve:
    """Hold an attempt's worst case on every budget of the call; the reply is the
    `Reservation`, or the `BudgetExhaustedError` saying which budget refused."""

    deployment: Deployment
    worst_case_usd: Decimal


@dataclass(frozen=True, slots=True)
class Downgrade:
    """Reserve for the cheapest of ``options`` (deployment label, worst case) after a budget
    that allows it refused; the reply is (label, `Reservation`) or the refusal."""

    options: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Settle:
    """Replace a reservation by the attempt's real cost (0 releases it; None: unknown
    price, the whole reservation counts); the reply is a `Settlement`."""

    reservation: Reservation
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class Charge:
    """Count a side call's cost (a judge, a compressor) on the call's budgets, except
    the accounts in ``counted`` (claim keys a nested router counted it on already)."""

    role: str
    cost_usd: float
    counted: frozenset[str] = frozenset()


class Called(NamedTuple):
    """A `CallModel`'s result: the answer or the provider's error, and the time it took.

    ``partial`` is what a stream had delivered to the caller before it broke (it cannot
    be retried without repeating text); ``opened``, the chunks a stream that broke had
    sent without showing the caller anything (OpenAI's role chunk, a usage chunk): the
    provider took the prompt, so the attempt is billed, yet it fails over. A named
    tuple: one is built for every call.
    """

    message: AIMessage | None
    error: BaseException | None
    latency_ms: float
    partial: AIMessage | None = None
    opened: AIMessage | None = None


Step = (
    ReadCache
    | HoldFlight
    | WriteCache
    | CallModel
    | RunCheck
    | Sleep
    | CompressorCall
    | AcquireRate
    | Reserve
    | Downgrade
    | Settle
    | Charge
)
