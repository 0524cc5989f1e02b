"""`BudgetGate`: the narrow interface the request path calls around each provider attempt.

Before an attempt: `reserve` its worst case on every budget that applies, then
`acquire_rate` (wait within the deadline, or release and fail over): a call either
refusal stops consumes neither. After it: `settle` with the real cost. On failure:
`release`. Spend can therefore never pass a limit by more than what one attempt costs
beyond its own worst case, however many processes share it. The gate's state and the
steps these operations share are in budgets/_gate_base.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from decimal import Decimal

from langchain_costrouter.budgets._gate_base import GateCore, SoftLimitCallback
from langchain_costrouter.budgets.claims import claims_of
from langchain_costrouter.budgets.counted import note_settled
from langchain_costrouter.budgets.leases import KEEPER
from langchain_costrouter.budgets.model import DEFAULT_LEASE_SECONDS, TASK_SCOPE, CallContext
from langchain_costrouter.budgets.money import from_pico
from langchain_costrouter.budgets.null_gate import NullBudgetGate
from langchain_costrouter.budgets.reports import exhausted, statuses
from langchain_costrouter.budgets.reservation import BudgetStatus, Reservation, Settlement
from langchain_costrouter.budgets.store import GRANTED_NOW, RateGrant
from langchain_costrouter.errors import BudgetExhaustedError, BudgetStoreError

__all__ = ["DEFAULT_LEASE_SECONDS", "BudgetGate", "Gate", "SoftLimitCallback"]


class BudgetGate(GateCore):
    """Budgets and rate limits enforced through one store shared by every process.

    Args:
        budgets: The budgets; every call draws on each one (in its own scope).
        store: A store URL (``memory://``, ``sqlite:///PATH``, ``redis://...``,
            ``postgresql+psycopg://...``) or a `BudgetStore`.
        rate_limits: Deployment label (``provider/model``) -> `RateLimit`.
        lease_seconds: How long an unsettled reservation counts (`DEFAULT_LEASE_SECONDS`)
            unless it is renewed: a reservation passed to `keep` (the router keeps every
            attempt's) is renewed while it is held (budgets/leases.py), so this is how
            long a dead process's reservations outlive it; one not kept stops holding its
            worst case after it (its settlement still counts once).
        on_soft_limit: Called with each `SoftLimitCrossed` (once per budget, scope and
            window across all processes), besides a `BudgetSoftLimitWarning`.
        on_store_error: ``"refuse"`` raises `BudgetStoreError` when the store is down;
            ``"allow"`` warns and lets calls through unbudgeted.
        clock: Seconds since the epoch, for calendar windows.
    """

    def without_caller_budgets(self) -> BudgetGate | NullBudgetGate:
        """This gate, on the same store, for spend that no caller asked for (shadow
        evaluation's calls): with the budgets over every call (``per=None``) and the
        per-task ones only. A budget scoped by run metadata (``per="tenant"``) limits what
        a caller's own calls spend; counting spend the application chose to make there
        would refuse (and bill) that caller for it. The rate limits stay: a provider
        counts those calls' requests and tokens like any other's. `NullBudgetGate` when
        neither a budget nor a rate limit is left.
        """
        kept = [budget for budget in self.budgets if budget.per in (None, TASK_SCOPE)]
        if not (kept or self.rate_limits):
            return NullBudgetGate()
        view = BudgetGate(
            kept,
            self.store,
            rate_limits=self.rate_limits,
            lease_seconds=self.lease_seconds,
            on_soft_limit=self.on_soft_limit,
            on_store_error=self.on_store_error,
            clock=self._clock,
        )
        view._standing_listeners = self._standing_listeners  # later listeners too
        view._unsettled = self._unsettled  # one gate's counts, one set of listeners
        return view

    # -- budgets -----------------------------------------------------------------------

    def reserve(
        self, context: CallContext, deployment: str, worst_case_usd: Decimal | float
    ) -> Reservation:
        """Hold ``worst_case_usd`` on every budget of the call, or raise.

        Raises:
            BudgetExhaustedError: a budget has no room; names it, its spend, limit and
                reset time (``downgrade`` is True when it allows a cheaper deployment).
            BudgetStoreError: the store failed and ``on_store_error`` is ``"refuse"``.
        """
        reservation = self._new(context, deployment, worst_case_usd)
        if reservation.claims:
            try:
                refusal = self.store.reserve(*self._reserve_args(reservation))
            except BudgetStoreError as error:
                refusal = self._store_down(error, reservation)
            if refusal is not None:
                raise exhausted(reservation, refusal)
        return reservation

    async def areserve(
        self, context: CallContext, deployment: str, worst_case_usd: Decimal | float
    ) -> Reservation:
        """`reserve` without blocking the event loop."""
        reservation = self._new(context, deployment, worst_case_usd)
        if reservation.claims:
            try:
                refusal = await self.store.areserve(*self._reserve_args(reservation))
            except BudgetStoreError as error:
                refusal = self._store_down(error, reservation)
            except asyncio.CancelledError:
                # The store may have made it, and nobody else knows its id: it would hold
                # the budget until its lease ran out. Releasing one never made changes nothing.
                await self.arelease(reservation)
                raise
            if refusal is not None:
                raise exhausted(reservation, refusal)
        return reservation

    def settle(self, reservation: Reservation, cost_usd: Decimal | float | None) -> Settlement:
        """Replace the reservation by the attempt's real cost. None (an unknown price)
        counts the whole reservation, never $0. A store failure here warns instead of
        failing a call that has been answered already, and the settlement is tried again
        in the background until its lease ends (budgets/pending.py)."""
        actual = self._finish(reservation, cost_usd)
        if not (reservation.claims and reservation.tracked):
            return Settlement(from_pico(actual))
        try:
            spent = self.store.settle(*self._settle_args(reservation, actual))
        except BudgetStoreError as error:
            self._owe(reservation, actual, error)
            return Settlement(from_pico(actual))
        note_settled(self.store, reservation.claims)
        KEEPER.store_answered(self.store)
        return self._settlement(reservation.claims, actual, spent)

    async def asettle(
        self, reservation: Reservation, cost_usd: Decimal | float | None
    ) -> Settlement:
        """`settle` without blocking the event loop, and carried to its end if the
        caller is cancelled meanwhile (budgets/to_the_end.py)."""
        actual = self._finish(reservation, cost_usd)
        if not (reservation.claims and reservation.tracked):
            return Settlement(from_pico(actual))
        try:
            spent = await self._awrite(
                reservation, self.store.asettle(*self._settle_args(reservation, actual)), actual
            )
        except BudgetStoreError as error:
            self._owe(reservation, actual, error)
            return Settlement(from_pico(actual))
        note_settled(self.store, reservation.claims)
        KEEPER.store_answered(self.store)
        return self._settlement(reservation.claims, actual, spent)

    def release(self, reservation: Reservation) -> None:
        """Give the reservation back: the attempt failed and cost nothing."""
        self.settle(reservation, 0)

    async def arelease(self, reservation: Reservation) -> None:
        await self.asettle(reservation, 0)

    def charge(
        self,
        context: CallContext,
        deployment: str,
        cost_usd: Decimal | float,
        *,
        counted: Collection[str] = (),
    ) -> Settlement:
        """Count a cost that nothing reserved (a quality check's judge, a compressor) on
        every budget of the call, in one store operation. The cost must be known: there is
        no reservation to fall back on (the router refuses an unpriced side call,
        `router._unpriced.refuse_unpriced`). ``counted`` holds
        the accounts (claim keys) that counted this cost already (a nested router's,
        `budgets.counted`): they are left out, so no account counts a dollar twice."""
        return self.settle(self._uncounted(context, deployment, counted), cost_usd)

    async def acharge(
        self,
        context: CallContext,
        deployment: str,
        cost_usd: Decimal | float,
        *,
        counted: Collection[str] = (),
    ) -> Settlement:
        return await self.asettle(self._uncounted(context, deployment, counted), cost_usd)

    def downgrade_target(
        self, context: CallContext, options: Sequence[tuple[str, Decimal | float]]
    ) -> tuple[str, Reservation]:
        """Reserve for the cheapest of ``options`` (deployment label, worst case).

        Called after `reserve` raised with ``downgrade`` True. A budget that refuses
        the cheapest worst case refuses every other, so this is the whole search.

        Raises:
            BudgetExhaustedError: with ``downgrade`` False, when even that does not fit.
        """
        deployment, worst_case = _cheapest(options)
        try:
            return deployment, self.reserve(context, deployment, worst_case)
        except BudgetExhaustedError as error:
            error.downgrade = False
            raise

    async def adowngrade_target(
        self, context: CallContext, options: Sequence[tuple[str, Decimal | float]]
    ) -> tuple[str, Reservation]:
        deployment, worst_case = _cheapest(options)
        try:
            return deployment, await self.areserve(context, deployment, worst_case)
        except BudgetExhaustedError as error:
            error.downgrade = False
            raise

    def status(self, context: CallContext) -> list[BudgetStatus]:
        """Spent, reserved and limit of each budget in the call's scope and window."""
        claims = claims_of(self._makers, context, self._clock())
        return statuses(claims, self.store.read(claims) if claims else [])

    async def astatus(self, context: CallContext) -> list[BudgetStatus]:
        claims = claims_of(self._makers, context, self._clock())
        return statuses(claims, await self.store.aread(claims) if claims else [])

    # -- rate limits -------------------------------------------------------------------

    def acquire_rate(
        self, deployment: str, tokens: int, max_wait: float = float("inf")
    ) -> RateGrant:
        """Take a request and ``tokens`` (prompt plus output cap) from the deployment's
        per-minute limits if the wait this needs is at most ``max_wait`` seconds; the
        caller then sleeps ``wait_seconds`` before calling. Not granted: nothing was
        taken; fail over or give up."""
        limit = self.rate_limits.get(deployment)
        if limit is None:
            return GRANTED_NOW
        try:
            return self.store.acquire_rate(_rate_key(deployment), limit, tokens, max_wait)
        except BudgetStoreError as error:
            return self._rate_store_down(error)

    async def aacquire_rate(
        self, deployment: str, tokens: int, max_wait: float = float("inf")
    ) -> RateGrant:
        limit = self.rate_limits.get(deployment)
        if limit is None:
            return GRANTED_NOW
        try:
            return await self.store.aacquire_rate(_rate_key(deployment), limit, tokens, max_wait)
        except BudgetStoreError as error:
            return self._rate_store_down(error)

    def close(self) -> None:
        """Close the store, once the settlements it failed are tried a last time (those
        still failing are logged and counted lost, budgets/pending.py): its blocking
        connections and every event loop's async ones (budgets/loop_clients.py)."""
        KEEPER.settle_owed(self.store)
        self.store.close()


Gate = BudgetGate | NullBudgetGate
"""What the request path holds: a real gate, or the free one of a router without budgets."""


def _cheapest(options: Sequence[tuple[str, Decimal | float]]) -> tuple[str, Decimal | float]:
    if not options:
        raise ValueError("downgrade_target needs at least one (deployment, worst case) option")
    return min(options, key=lambda option: Decimal(str(option[1])))


def _rate_key(deployment: str) -> str:
    return f"rate|{deployment}"
