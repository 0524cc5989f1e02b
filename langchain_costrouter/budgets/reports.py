"""What the gate reports: a refusal as an error, soft thresholds crossed, budget standings."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.money import from_pico
from langchain_costrouter.budgets.reservation import BudgetStatus, Reservation, SoftLimitCrossed
from langchain_costrouter.budgets.store import Refusal
from langchain_costrouter.errors import BackendUnavailableWarning, BudgetExhaustedError


def exhausted(reservation: Reservation, refusal: Refusal) -> BudgetExhaustedError:
    """The error naming the budget that refused, its spend, limit and reset time."""
    claim = reservation.claims[refusal.index]
    return BudgetExhaustedError(
        budget_name=claim.budget.name,
        scope=claim.scope,
        task=reservation.task,
        spent_usd=from_pico(refusal.spent),
        reserved_usd=from_pico(refusal.reserved),
        limit_usd=claim.budget.limit_usd,
        needed_usd=reservation.amount_usd,
        reset_at=claim.window.end,
        downgrade=claim.budget.on_exhausted == "downgrade",
    )


def soft_limits_crossed(
    claims: Sequence[Claim], spent: Sequence[int], actual: int
) -> Iterator[SoftLimitCrossed]:
    """Accounts whose spend went from below the soft threshold to at or above it.

    Spend only grows and each settlement adds to it atomically, so exactly one
    settlement per account and window sees the crossing, in whichever process made it.
    """
    for claim, after in zip(claims, spent, strict=True):
        if claim.soft is not None and after - actual < claim.soft <= after:
            yield SoftLimitCrossed(
                budget=claim.budget.name,
                scope=claim.scope,
                window=claim.window.label,
                spent_usd=from_pico(after),
                limit_usd=claim.budget.limit_usd,
                threshold=claim.budget.soft_threshold or 0.0,
                reset_at=claim.window.end,
            )


def statuses(claims: Sequence[Claim], state: Sequence[tuple[int, int]]) -> list[BudgetStatus]:
    return [
        BudgetStatus(
            budget=claim.budget.name,
            scope=claim.scope,
            window=claim.window.label,
            spent_usd=from_pico(spent),
            reserved_usd=from_pico(reserved),
            limit_usd=claim.budget.limit_usd,
            reset_at=claim.window.end,
        )
        for claim, (spent, reserved) in zip(claims, state, strict=True)
    ]


def warn_unsettled(
    reservation: Reservation, error: BaseException, *, retried: bool = False, stacklevel: int = 4
) -> None:
    then = (
        "it is tried again in the background until its lease ends, and its reservation "
        "counts meanwhile (BudgetGate.settlement_stats() says what became of it)."
        if retried
        else "its cost is not counted, and its reservation counts until its lease runs out."
    )
    warnings.warn(
        f"{error} Reservation {reservation.id} of {reservation.deployment} "
        f"(${reservation.amount_usd:f} held) was not settled: {then}",
        BackendUnavailableWarning,
        stacklevel=stacklevel,
    )
