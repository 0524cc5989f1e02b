"""The contract every budget store keeps, whichever server holds the counters.

A store keeps, per account (one budget, scope and window): money ``spent`` (settled)
and ``reserved`` (by calls in flight), both integer picodollars, and per reservation a
lease. `BudgetStore.reserve` adds an amount to every account of a call or to none,
refusing when any account would go over its limit; `settle` turns a reservation into
its actual cost; a lease that runs out (its process died) stops counting. Rate limits
are token buckets in the same store.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.model import RateLimit

SECONDS_PER_MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation was refused: the first account without room, as it stood."""

    index: int
    """Position in the claims passed to `BudgetStore.reserve`."""
    spent: int
    reserved: int


@dataclass(frozen=True, slots=True)
class RateGrant:
    """A rate limiter's answer.

    Attributes:
        granted: The call's request and tokens are taken: go ahead after ``wait_seconds``.
            When False nothing was taken; ``wait_seconds`` says how long the call would
            have had to wait (``inf`` when it asks for more tokens than a minute holds).
        wait_seconds: Seconds to wait before calling the provider.
    """

    granted: bool
    wait_seconds: float


GRANTED_NOW = RateGrant(granted=True, wait_seconds=0.0)


class BudgetStore(ABC):
    """Counters shared by every process that opens the same URL.

    The async methods of stores on a network server do not block the event loop; the
    defaults here run the blocking method in a worker thread.
    """

    url: str
    """Where the counters live, without a password (for errors and logs)."""
    awaits_io = True
    """Its async methods wait for a server or a thread, so a caller cancelled meanwhile
    could abandon a write half-way (the gate runs writes to their end instead)."""

    @abstractmethod
    def reserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        """Reserve ``amount`` on every claim's account, or on none; None when reserved."""

    @abstractmethod
    def settle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        """End a reservation: drop its lease (if still held) and add ``actual`` to spent.

        Returns each account's spend after the settlement, in claim order.
        """

    def renew(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, lease_seconds: float
    ) -> bool:
        """Push the reservation's lease ``lease_seconds`` past now, on every account where
        it has not run out; False when it is held nowhere any more (settled, or ran
        out). A store without leases to renew (written before this method) says False:
        its long calls' reservations run out as they always did (budgets/leases.py)."""
        return False

    @abstractmethod
    def read(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        """(spent, reserved) of each claim's account, leases that ran out not counted."""

    @abstractmethod
    def acquire_rate(self, key: str, limit: RateLimit, tokens: int, max_wait: float) -> RateGrant:
        """Take one request and ``tokens`` from the deployment's buckets if the wait
        this needs is at most ``max_wait`` seconds."""

    async def areserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        return await asyncio.to_thread(self.reserve, claims, amount, lease_seconds, reservation_id)

    async def asettle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        return await asyncio.to_thread(self.settle, claims, reservation_id, amount, actual)

    async def aread(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        return await asyncio.to_thread(self.read, claims)

    async def aacquire_rate(
        self, key: str, limit: RateLimit, tokens: int, max_wait: float
    ) -> RateGrant:
        return await asyncio.to_thread(self.acquire_rate, key, limit, tokens, max_wait)

    def close(self) -> None:  # noqa: B027 - stores without connections have nothing to close
        """Release connections."""


@dataclass(frozen=True, slots=True)
class Buckets:
    """A deployment's request and token buckets at ``updated_at`` (store clock, seconds).

    Levels may be negative: a caller granted a wait took its share in advance.
    """

    requests: float
    tokens: float
    updated_at: float


def take(
    state: Buckets | None, limit: RateLimit, tokens: int, max_wait: float, now: float
) -> tuple[Buckets | None, RateGrant]:
    """Refill both buckets to ``now`` and take a call from them if its wait fits.

    Returns the new state to store (None when nothing changed) and the grant. The
    in-process and SQL stores share this; the Redis store runs the same steps in Lua.
    """
    rpm, tpm = float(limit.rpm or 0), float(limit.tpm or 0)
    if state is None:
        state = Buckets(rpm, float(tpm), now)
    elapsed = max(0.0, now - state.updated_at)
    requests = min(rpm, state.requests + elapsed * rpm / SECONDS_PER_MINUTE)
    held = min(tpm, state.tokens + elapsed * tpm / SECONDS_PER_MINUTE)
    if tpm and tokens > tpm:
        return None, RateGrant(granted=False, wait_seconds=float("inf"))
    wait = 0.0
    if rpm:
        wait = max(wait, (1 - requests) * SECONDS_PER_MINUTE / rpm)
    if tpm:
        wait = max(wait, (tokens - held) * SECONDS_PER_MINUTE / tpm)
    if wait > max_wait:
        return None, RateGrant(granted=False, wait_seconds=wait)
    # A bucket without a limit is left at 0, never drawn below: a limit set later (a new
    # config, a rolling deploy beside old processes) would find every earlier call's debt.
    taken = Buckets(requests - 1 if rpm else 0.0, held - tokens if tpm else 0.0, now)
    return taken, RateGrant(granted=True, wait_seconds=wait)
