"""Which budget accounts a call draws on: one per budget, in the call's scope and window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from langchain_costrouter.budgets.model import Budget, CallContext
from langchain_costrouter.budgets.money import to_pico
from langchain_costrouter.budgets.windows import Window, WindowClock

KEEP_ACCOUNTS_SECONDS = 86400.0
"""How long a store keeps an account after its window ended, so late settlements count."""
_MAX_CACHED_SCOPES = 10_000


@dataclass(frozen=True, slots=True)
class Claim:
    """One budget's account that a call draws on: a budget, a scope and a window.

    Attributes:
        key: The account's name in the store (``tenant-daily|tenant=acme|2026-12-04``).
        limit: The budget's limit in picodollars.
        expires_at: When the store may forget the account (epoch seconds), None never.
        soft: The soft threshold in picodollars (None: not reported). Stores ignore it.
    """

    key: str
    limit: int
    expires_at: float | None
    soft: int | None
    budget: Budget
    scope: str
    window: Window


class ClaimMaker:
    """One budget with what every reservation needs precomputed: its limits, its window
    clock, and the claims of the current window by scope (reused call after call)."""

    __slots__ = ("_cache", "budget", "clock", "limit", "soft")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.clock = WindowClock(budget.period, budget.zone())
        self.limit = to_pico(budget.limit_usd, "limit_usd")
        fraction = budget.soft_threshold
        self.soft = None if fraction is None else int(self.limit * Decimal(str(fraction)))
        # One tuple, replaced whole: a thread never reads one window's claims for another.
        self._cache: tuple[Window | None, dict[str, Claim]] = (None, {})

    def claim(self, context: CallContext, now: float) -> Claim:
        window = self.clock.at(now)
        scope = self.budget.scope(context)
        cached_window, claims = self._cache
        if window is not cached_window or len(claims) > _MAX_CACHED_SCOPES:
            claims = {}
            self._cache = (window, claims)
        claim = claims.get(scope)
        if claim is None:
            claim = claims[scope] = self._new_claim(scope, window)
        return claim

    def _new_claim(self, scope: str, window: Window) -> Claim:
        end = window.end_timestamp
        return Claim(
            key=f"{self.budget.name}|{scope}|{window.label}",
            limit=self.limit,
            expires_at=None if end is None else end + KEEP_ACCOUNTS_SECONDS,
            soft=self.soft,
            budget=self.budget,
            scope=scope,
            window=window,
        )


def claims_of(makers: Sequence[ClaimMaker], context: CallContext, now: float) -> tuple[Claim, ...]:
    """The call's claims in key order: stores lock accounts in this order, so two calls
    never wait for each other in a cycle."""
    if len(makers) == 1:
        return (makers[0].claim(context, now),)
    return tuple(sorted((maker.claim(context, now) for maker in makers), key=_key))


def _key(claim: Claim) -> str:
    return claim.key
