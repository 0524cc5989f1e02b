"""`NullBudgetGate`: the gate of a router without budgets or rate limits, at no cost.

The request path calls the same methods either way; here they return at once, so a
router without budgets pays a few attribute lookups per attempt and nothing else.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType

from langchain_costrouter.budgets.model import Budget, CallContext, RateLimit
from langchain_costrouter.budgets.reservation import BudgetStatus, Reservation, Settlement
from langchain_costrouter.budgets.store import GRANTED_NOW, RateGrant

_NOTHING_HELD = Settlement(Decimal(0))


class NullBudgetGate:
    """Allows every call, holds nothing, waits for nothing."""

    enabled = False
    budgets: tuple[Budget, ...] = ()
    rate_limits: Mapping[str, RateLimit] = MappingProxyType({})

    def without_caller_budgets(self) -> NullBudgetGate:
        return self

    def reserve(
        self, context: CallContext, deployment: str, worst_case_usd: Decimal | float
    ) -> Reservation:
        return Reservation("", deployment, context.task, 0, (), tracked=False)

    async def areserve(
        self, context: CallContext, deployment: str, worst_case_usd: Decimal | float
    ) -> Reservation:
        return self.reserve(context, deployment, worst_case_usd)

    def keep(self, reservation: Reservation) -> None:
        return None

    def settle(self, reservation: Reservation, cost_usd: Decimal | float | None) -> Settlement:
        return _NOTHING_HELD

    async def asettle(
        self, reservation: Reservation, cost_usd: Decimal | float | None
    ) -> Settlement:
        return self.settle(reservation, cost_usd)

    def release(self, reservation: Reservation) -> None:
        return None

    async def arelease(self, reservation: Reservation) -> None:
        return None

    def charge(
        self,
        context: CallContext,
        deployment: str,
        cost_usd: Decimal | float,
        *,
        counted: Collection[str] = (),
    ) -> Settlement:
        return _NOTHING_HELD

    async def acharge(
        self,
        context: CallContext,
        deployment: str,
        cost_usd: Decimal | float,
        *,
        counted: Collection[str] = (),
    ) -> Settlement:
        return _NOTHING_HELD

    def downgrade_target(
        self, context: CallContext, options: Sequence[tuple[str, Decimal | float]]
    ) -> tuple[str, Reservation]:
        raise ValueError("a router without budgets never downgrades for one")

    async def adowngrade_target(
        self, context: CallContext, options: Sequence[tuple[str, Decimal | float]]
    ) -> tuple[str, Reservation]:
        return self.downgrade_target(context, options)

    def status(self, context: CallContext) -> list[BudgetStatus]:
        return []

    async def astatus(self, context: CallContext) -> list[BudgetStatus]:
        return []

    def acquire_rate(
        self, deployment: str, tokens: int, max_wait: float = float("inf")
    ) -> RateGrant:
        return GRANTED_NOW

    async def aacquire_rate(
        self, deployment: str, tokens: int, max_wait: float = float("inf")
    ) -> RateGrant:
        return GRANTED_NOW

    def close(self) -> None:
        return None
