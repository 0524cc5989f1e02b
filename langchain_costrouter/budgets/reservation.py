"""What the gate hands the request path: a reservation, and what settling it reported."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.money import from_pico


@dataclass(slots=True, eq=False, weakref_slot=True)
class Reservation:
    """Money held on every budget of one provider attempt until it is settled or released.

    Attributes:
        id: Unique across processes and machines (the lease's name in the store).
        deployment: The deployment label the reservation was made for.
        task: The call's task label.
        amount: Picodollars held: the attempt's worst case.
        claims: The budget accounts held (empty when no budget applies).
        tracked: False when the store was down and the gate let the call through
            unbudgeted (``on_store_error="allow"``); settling it does nothing.
        done: Settled or released already (a second settlement is an error).
        deadline: When its lease runs out, in `time.monotonic` seconds (the store's own
            clock may end it a little later, never earlier); moved on by each renewal of
            a kept reservation (budgets/leases.py).
    """

    id: str
    deployment: str
    task: str
    amount: int
    claims: tuple[Claim, ...] = field(repr=False)
    tracked: bool = True
    done: bool = False
    deadline: float = field(default=math.inf, repr=False)

    @property
    def amount_usd(self) -> Decimal:
        return from_pico(self.amount)

    def finish(self) -> None:
        if self.done:
            raise ValueError(
                f"reservation {self.id} for {self.deployment} was settled or released "
                "already; settle each reservation exactly once"
            )
        self.done = True


@dataclass(frozen=True, slots=True)
class SoftLimitCrossed:
    """A budget's spend crossed its soft threshold (reported once per window).

    ``label`` (``acme-daily[tenant=acme]``) is what the request path puts in the call's
    record and the ledger.
    """

    budget: str
    scope: str
    window: str
    spent_usd: Decimal
    limit_usd: Decimal
    threshold: float
    reset_at: datetime | None

    @property
    def label(self) -> str:
        return f"{self.budget}[{self.scope}]"

    def message(self) -> str:
        resets = f"; it resets at {self.reset_at.isoformat()}" if self.reset_at else ""
        return (
            f"Budget {self.budget!r} ({self.scope}) has spent ${self.spent_usd:f} of "
            f"${self.limit_usd:f} in window {self.window}, past its soft threshold of "
            f"{self.threshold:.0%}{resets}."
        )


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a settlement charged the budgets and the soft thresholds it crossed."""

    counted_usd: Decimal
    """What the budgets were charged: the cost, or the whole reservation when the cost
    is unknown (None), never $0 for an unknown price."""
    soft_limits_crossed: tuple[SoftLimitCrossed, ...] = ()


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Where one budget stands for a call's scope in the current window."""

    budget: str
    scope: str
    window: str
    spent_usd: Decimal
    reserved_usd: Decimal
    limit_usd: Decimal
    reset_at: datetime | None

    @property
    def remaining_usd(self) -> Decimal:
        return max(Decimal(0), self.limit_usd - self.spent_usd - self.reserved_usd)
