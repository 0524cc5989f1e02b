"""What every `BudgetGate` operation shares: the gate's state, and the steps around the
store's calls. The operations themselves, which the request path calls, are in
budgets/gate.py.

A reservation is built here (its accounts, its amount, its lease's name and deadline);
a settlement is finished here (a warning when it comes after its lease ran out), its
write carried to its end however often the caller is cancelled, tried again when the
store failed it (budgets/pending.py), and its outcome reported (soft thresholds
crossed, where each budget stands); a store that is down refuses the call or lets it
through here, as ``on_store_error`` says.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import warnings
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from langchain_costrouter.budgets.claims import Claim, ClaimMaker, claims_of
from langchain_costrouter.budgets.counted import note_settled
from langchain_costrouter.budgets.leases import KEEPER
from langchain_costrouter.budgets.model import (
    DEFAULT_LEASE_SECONDS,
    Budget,
    CallContext,
    RateLimit,
    checked_lease_seconds,
)
from langchain_costrouter.budgets.money import from_pico, to_pico
from langchain_costrouter.budgets.pending import LostListener, Owed, SettlementStats, Unsettled
from langchain_costrouter.budgets.reports import soft_limits_crossed, statuses, warn_unsettled
from langchain_costrouter.budgets.reservation import (
    BudgetStatus,
    Reservation,
    Settlement,
    SoftLimitCrossed,
)
from langchain_costrouter.budgets.store import GRANTED_NOW, BudgetStore, RateGrant, Refusal
from langchain_costrouter.budgets.to_the_end import to_the_end
from langchain_costrouter.budgets.urls import open_store
from langchain_costrouter.errors import (
    BackendUnavailableWarning,
    BudgetLeaseExpiredWarning,
    BudgetSoftLimitWarning,
    BudgetStoreError,
    ConfigError,
)

SoftLimitCallback = Callable[[SoftLimitCrossed], object]


class GateCore:
    """A gate's budgets, store and options, checked, and the steps its operations share
    (`BudgetGate` says what each argument means); not used on its own."""

    enabled = True

    def __init__(
        self,
        budgets: Iterable[Budget] = (),
        store: str | BudgetStore = "memory://",
        *,
        rate_limits: Mapping[str, RateLimit] | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        on_soft_limit: SoftLimitCallback | None = None,
        on_store_error: Literal["refuse", "allow"] = "refuse",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.budgets = tuple(budgets)
        names = [budget.name for budget in self.budgets]
        if len(set(names)) < len(names):
            raise ConfigError(f"budget names must be unique, got {names}", key="budgets")
        lease_seconds = checked_lease_seconds(lease_seconds, "lease_seconds")
        self.store = open_store(store) if isinstance(store, str) else store
        if not isinstance(self.store, BudgetStore):
            raise ConfigError(
                f"expected a store URL or a BudgetStore, got {type(store).__name__}; to set "
                "the gate's options from a router, pass them to RoutedChatModel "
                "(on_budget_store_error=..., on_soft_limit=..., budget_lease_seconds=...)",
                key="budget_store",
            )
        self.rate_limits = dict(rate_limits or {})
        self.lease_seconds = lease_seconds
        self.on_soft_limit = on_soft_limit
        self.on_store_error = on_store_error
        self._makers = tuple(ClaimMaker(budget) for budget in self.budgets)
        self._clock = clock
        self._standing_listeners: list[Callable[[list[BudgetStatus]], object]] = []
        self._unsettled = Unsettled()

    def on_standings(self, listener: Callable[[list[BudgetStatus]], object]) -> None:
        """Call ``listener`` after each settlement with where its budgets stand: each
        account's limit and its window's spend as the store counted it, in-flight
        reservations not subtracted (telemetry's ``costrouter.budget.remaining`` gauge).
        Registering the same listener again changes nothing."""
        if listener not in self._standing_listeners:
            self._standing_listeners.append(listener)

    def on_unsettled(self, listener: LostListener) -> None:
        """Call ``listener`` with each settlement given up (the store failed it until its
        lease ended, budgets/pending.py) and the dollars no budget counted (telemetry's
        ``costrouter.budget.unsettled``). Registering the same listener again changes
        nothing."""
        if listener not in self._unsettled.listeners:
            self._unsettled.listeners.append(listener)

    def settlement_stats(self) -> SettlementStats:
        """What became of the settlements the store failed: tried again, settled late,
        lost (their cost in no shared budget, each logged), still pending."""
        return self._unsettled.stats()

    def _new(
        self, context: CallContext, deployment: str, worst_case_usd: Decimal | float
    ) -> Reservation:
        amount = to_pico(worst_case_usd, "worst_case_usd")
        claims = claims_of(self._makers, context, self._clock())
        deadline = time.monotonic() + self.lease_seconds  # taken before the store's
        # 96 random bits name the lease across machines; os.urandom is fork-safe.
        lease = os.urandom(12).hex()
        return Reservation(lease, deployment, context.task, amount, claims, deadline=deadline)

    def keep(self, reservation: Reservation) -> None:
        """Renew ``reservation``'s lease while it is held, until it is settled or
        released (budgets/leases.py): a call longer than ``lease_seconds`` (a long stream)
        keeps holding its worst case, and only a process that died lets it run out."""
        if reservation.claims and reservation.tracked and not reservation.done:
            KEEPER.keep(self.store, reservation, self.lease_seconds)

    def _uncounted(
        self, context: CallContext, deployment: str, counted: Collection[str]
    ) -> Reservation:
        """A charge: a reservation of $0 on the call's accounts, less those ``counted``
        already (a nested router's, `budgets.counted`), settled to the cost at once."""
        charge = self._new(context, deployment, 0)
        if counted:
            charge.claims = tuple(c for c in charge.claims if c.key not in counted)
        return charge

    def _reserve_args(self, reservation: Reservation) -> tuple[Sequence[Claim], int, float, str]:
        return (reservation.claims, reservation.amount, self.lease_seconds, reservation.id)

    @staticmethod
    def _settle_args(
        reservation: Reservation, actual: int
    ) -> tuple[Sequence[Claim], str, int, int]:
        return (reservation.claims, reservation.id, reservation.amount, actual)

    def _finish(self, reservation: Reservation, cost_usd: Decimal | float | None) -> int:
        """The picodollars to settle; a settlement after the lease ran out warns (the
        store counts it once all the same: its lease is dropped once, by whichever of
        the settlement and a reclaim comes first)."""
        reservation.finish()
        KEEPER.forget(reservation)
        if reservation.claims and reservation.tracked and time.monotonic() > reservation.deadline:
            warnings.warn(
                f"A call on {reservation.deployment} was settled after its budget "
                f"reservation's lease of {self.lease_seconds:g} s ran out: for the rest of the "
                "call its worst case was not held, so concurrent calls could spend past a "
                "limit (its cost is counted once). A kept reservation (BudgetGate.keep, as "
                "the router keeps its calls') runs out only when its renewals fail (the "
                "store unreachable, the process paused); keep the reservations you make "
                "yourself, or set budget_lease_seconds (RoutedChatModel, or [router] in the "
                "config file) longer than your longest provider call.",
                BudgetLeaseExpiredWarning,
                stacklevel=3,
            )
        return reservation.amount if cost_usd is None else to_pico(cost_usd, "cost_usd")

    async def _awrite(
        self, reservation: Reservation, write: Coroutine[Any, Any, list[int]], actual: int = 0
    ) -> list[int]:
        """A settlement's write, run to its end however often the caller is cancelled;
        a store that never waits (in memory) cannot be cancelled half-way."""
        if not self.store.awaits_io:
            return await write

        def orphaned(done: asyncio.Future[list[int]]) -> None:
            """Report what the write found, as the cancelled caller would have."""
            if done.cancelled():
                warn_unsettled(reservation, RuntimeError(_LOOP_ENDED))
            elif isinstance(error := done.exception(), BudgetStoreError):
                self._owe(reservation, actual, error)
            elif error is not None:
                warn_unsettled(reservation, error)
            else:
                self._settlement(reservation.claims, actual, done.result())

        return await to_the_end(write, orphaned)

    def _owe(self, reservation: Reservation, actual: int, error: BudgetStoreError) -> None:
        """The store failed a settlement: warn, and have it tried again until its lease
        ends (budgets/pending.py), never dropped. A caller collecting what was settled
        (`budgets.counted`) is told of its accounts now: the retry counts them."""
        warn_unsettled(reservation, error, retried=True, stacklevel=5)
        note_settled(self.store, reservation.claims)
        self._unsettled.queued()
        report = functools.partial(self._settlement, reservation.claims, actual)
        owed = Owed(reservation, self.store, actual, self.lease_seconds, report, self._unsettled)
        owed.error = error
        KEEPER.owe(owed)

    def _store_down(self, error: BudgetStoreError, reservation: Reservation) -> Refusal | None:
        if self.on_store_error == "refuse":
            raise error
        warnings.warn(f"{error} Letting the call through.", BackendUnavailableWarning, stacklevel=3)
        reservation.tracked = False
        return None

    def _rate_store_down(self, error: BudgetStoreError) -> RateGrant:
        if self.on_store_error == "refuse":
            raise error
        warnings.warn(f"{error} Letting the call through.", BackendUnavailableWarning, stacklevel=3)
        return GRANTED_NOW

    def _settlement(self, claims: Sequence[Claim], actual: int, spent: list[int]) -> Settlement:
        crossed = tuple(soft_limits_crossed(claims, spent, actual)) if actual else ()
        for event in crossed:
            warnings.warn(event.message(), BudgetSoftLimitWarning, stacklevel=3)
            if self.on_soft_limit is not None:
                self.on_soft_limit(event)
        if self._standing_listeners:
            standings = statuses(claims, [(after, 0) for after in spent])
            for listener in self._standing_listeners:
                listener(standings)
        return Settlement(from_pico(actual), crossed)


_LOOP_ENDED = "The event loop ended before the budget store confirmed the settlement."
