"""``memory://``: budgets and rate limits of one process, under one lock (microseconds)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.model import RateLimit
from langchain_costrouter.budgets.store import Buckets, BudgetStore, RateGrant, Refusal, take

_PURGE_EVERY_SECONDS = 60.0


@dataclass(slots=True)
class _Account:
    spent: int = 0
    reserved: int = 0
    leases: dict[str, tuple[int, float]] = field(default_factory=dict)
    """reservation id -> (amount, monotonic deadline)"""
    expires_at: float | None = None

    def reclaim(self, now: float) -> None:
        """Drop leases whose deadline passed: their processes are gone or too late."""
        for reservation_id, (amount, deadline) in list(self.leases.items()):
            if deadline <= now:
                del self.leases[reservation_id]
                self.reserved -= amount


class MemoryStore(BudgetStore):
    """Counters in a dict: the default store, private to one process.

    Leases that ran out are reclaimed only when they matter (a reservation that would
    otherwise be refused, a read), so the common reservation is a few dict operations.
    """

    url = "memory://"
    awaits_io = False  # its async methods return without ever suspending

    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}
        self._buckets: dict[str, Buckets] = {}
        self._lock = threading.Lock()
        self._next_purge = time.time() + _PURGE_EVERY_SECONDS

    def reserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        now = time.monotonic()
        with self._lock:
            self._purge_now_and_then()
            accounts = [self._account(claim) for claim in claims]
            for index, claim in enumerate(claims):
                account = accounts[index]
                if account.spent + account.reserved + amount > claim.limit:
                    account.reclaim(now)
                    if account.spent + account.reserved + amount > claim.limit:
                        return Refusal(index, account.spent, account.reserved)
            lease = (amount, now + lease_seconds)
            for account in accounts:
                account.reserved += amount
                account.leases[reservation_id] = lease
        return None

    def settle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        spent = []
        with self._lock:
            for claim in claims:
                account = self._account(claim)
                lease = account.leases.pop(reservation_id, None)
                if lease is not None:
                    account.reserved -= lease[0]
                account.spent += actual
                spent.append(account.spent)
        return spent

    def renew(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, lease_seconds: float
    ) -> bool:
        now = time.monotonic()
        renewed = False
        with self._lock:
            for claim in claims:
                account = self._accounts.get(claim.key)
                lease = None if account is None else account.leases.get(reservation_id)
                if account is not None and lease is not None and lease[1] > now:
                    account.leases[reservation_id] = (lease[0], now + lease_seconds)
                    renewed = True
        return renewed

    def read(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        now = time.monotonic()
        with self._lock:
            accounts = [self._accounts.get(claim.key) for claim in claims]
            for account in accounts:
                if account is not None:
                    account.reclaim(now)
            return [(a.spent, a.reserved) if a else (0, 0) for a in accounts]

    def acquire_rate(self, key: str, limit: RateLimit, tokens: int, max_wait: float) -> RateGrant:
        with self._lock:
            state, grant = take(self._buckets.get(key), limit, tokens, max_wait, time.monotonic())
            if state is not None:
                self._buckets[key] = state
        return grant

    async def areserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        return self.reserve(claims, amount, lease_seconds, reservation_id)

    async def asettle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        return self.settle(claims, reservation_id, amount, actual)

    async def aread(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        return self.read(claims)

    async def aacquire_rate(
        self, key: str, limit: RateLimit, tokens: int, max_wait: float
    ) -> RateGrant:
        return self.acquire_rate(key, limit, tokens, max_wait)

    def _account(self, claim: Claim) -> _Account:
        account = self._accounts.get(claim.key)
        if account is None:
            account = self._accounts[claim.key] = _Account(expires_at=claim.expires_at)
        return account

    def _purge_now_and_then(self) -> None:
        """Forget accounts of windows that ended long ago (called with the lock held)."""
        now = time.time()
        if now < self._next_purge:
            return
        self._next_purge = now + _PURGE_EVERY_SECONDS
        for key in [k for k, a in self._accounts.items() if a.expires_at and a.expires_at < now]:
            del self._accounts[key]
