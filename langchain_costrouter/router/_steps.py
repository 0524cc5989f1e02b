"""The I/O steps a routed call's flow yields, and what a driver sends back for each.

The flow (`_flow.serve`) and the cascade policy (`_cascade.run_cascade`) never do I/O
themselves: they yield one of these values and receive the result. A driver
(`_drive.drive` or `_drive.adrive`) performs the step with blocking or awaited I/O,
which is how invoke, ainvoke, stream, astream and batch share one implementation.

Compression's own step, `CompressorCall`, is yielded through the flow as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from langchain_core.messages import AIMessage

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


class Called(NamedTuple):
    """A `CallModel`'s result: the answer or the provider's error, and the time it took.

    ``partial`` is what a stream had delivered to the caller before it broke (it cannot
    be retried without repeating text). A named tuple: one is built for every call.
    """

    message: AIMessage | None
    error: Exception | None
    latency_ms: float
    partial: AIMessage | None = None


Step = ReadCache | HoldFlight | WriteCache | CallModel | RunCheck | Sleep | CompressorCall
