"""Settlements the store failed, tried again until their lease ends.

A settlement turns a reservation into what its call cost. When the store cannot be
reached at that moment (a Redis failover, a Postgres restart), the call has been
answered already and must not fail. A settlement dropped then left its reservation to
run out with its lease, and its cost never reached the spend that other machines see:
a shared budget under-counted every call settled during the outage. The gate queues
such a settlement here instead (`Owed`), and the lease thread (budgets/leases.py) tries
it again: after `FIRST_RETRY` seconds, then twice as long each time (never more than
`MAX_RETRY` nor a third of a lease, with jitter so that machines that failed together
do not come back together), and at once when another settlement on the same store
succeeds (it is back). The caller is never kept waiting for it.

It is tried until its lease ends (at least a third of a lease after the failure): until
then the store holds the call's worst case, so the budget over-counts, never under. One
still failing then is given up: logged as a warning (the store's URL without its
password) and counted in its gate's `SettlementStats` and the
``costrouter.budget.unsettled`` metric (telemetry/metrics.py), never dropped unseen.
Settlements still queued when the process exits are reported the same way, and so are
those of a gate being closed (`BudgetGate.close`), once tried a last time.

A failure whose write had reached the store (its reply was lost) is tried again like
any other, so its cost may be counted twice: on the budget's side, as when the Redis
runner sends a command again (budgets/redis_calls.py).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from langchain_costrouter._secrets import redacted, url_passwords_masked
from langchain_costrouter.budgets.money import from_pico
from langchain_costrouter.budgets.reservation import Reservation
from langchain_costrouter.budgets.store import BudgetStore
from langchain_costrouter.errors import BudgetStoreError

FIRST_RETRY = 0.25
"""Seconds from a failed settlement to its first retry."""
MAX_RETRY = 30.0
"""Longest wait between two retries (a third of a lease when that is shorter)."""

_log = logging.getLogger("langchain_costrouter.budgets")


@dataclass(frozen=True, slots=True)
class SettlementStats:
    """What became of the settlements a gate's store failed (`BudgetGate.settlement_stats`).

    Attributes:
        retried: Settlements the store failed, queued to be tried again.
        recovered: Those a retry settled: their cost is counted.
        lost: Those with a cost given up (their lease ended, or the process exited,
            first): their cost is not in the shared budget; each was logged as a
            warning. A release given up is not lost: its lease frees it all the same.
        lost_usd: What the lost ones cost, which no budget counted.
        pending: Those still being tried.
    """

    retried: int = 0
    recovered: int = 0
    lost: int = 0
    lost_usd: Decimal = Decimal(0)
    pending: int = 0


LostListener = Callable[[tuple[tuple[str, str], ...], Decimal], object]
"""Told of each settlement given up: the (budget, scope) of each account it did not
reach, and the dollars it did not count there."""


class Unsettled:
    """One gate's counts of failed settlements, and who is told of those lost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = SettlementStats()
        self.listeners: list[LostListener] = []

    def stats(self) -> SettlementStats:
        return self._stats

    def queued(self) -> None:
        self._add(retried=1, pending=1)

    def recovered(self) -> None:
        self._add(recovered=1, pending=-1)

    def expired(self) -> None:
        self._add(pending=-1)

    def lost(self, reservation: Reservation, actual: int) -> None:
        usd = from_pico(actual)
        self._add(lost=1, pending=-1, lost_usd=usd)
        accounts = tuple((claim.budget.name, claim.scope) for claim in reservation.claims)
        for listener in self.listeners:
            try:
                listener(accounts, usd)
            except Exception:  # a broken meter must not stop the lease thread
                _log.exception("a listener of lost budget settlements failed")

    def _add(self, lost_usd: Decimal = Decimal(0), **counts: int) -> None:
        with self._lock:
            now = self._stats
            self._stats = SettlementStats(
                retried=now.retried + counts.get("retried", 0),
                recovered=now.recovered + counts.get("recovered", 0),
                lost=now.lost + counts.get("lost", 0),
                lost_usd=now.lost_usd + lost_usd,
                pending=now.pending + counts.get("pending", 0),
            )


@dataclass(slots=True, eq=False)
class Owed:
    """A settlement the store failed, to be tried again until ``until``."""

    reservation: Reservation
    store: BudgetStore
    actual: int
    """Picodollars to add to spend."""
    lease_seconds: float
    on_settled: Callable[[list[int]], object]
    """Reports what the settlement found (soft limits crossed, standings)."""
    counts: Unsettled
    until: float = 0.0
    """`time.monotonic` time after which it is given up."""
    due: float = 0.0
    tries: int = 0
    error: BaseException | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        now = time.monotonic()
        self.until = max(self.reservation.deadline, now + self.lease_seconds / 3)
        self.due = now + self._wait()

    def retry(self, *, last: bool = False) -> bool:
        """Try the settlement once more; True when it is done with (settled or lost).
        ``last``: the caller gives it up itself if this fails (False then)."""
        reservation = self.reservation
        self.tries += 1
        try:
            spent = self.store.settle(
                reservation.claims, reservation.id, reservation.amount, self.actual
            )
        except Exception as error:  # the store is still down: later, or given up
            self.error = error
            now = time.monotonic()
            if last:
                return False
            if now >= self.until:
                self.give_up()
                return True
            self.due = min(now + self._wait(), self.until)
            return False
        self.counts.recovered()
        try:
            self.on_settled(spent)
        except Exception:  # what a listener does with it is not the settlement's failure
            _log.exception("reporting a retried budget settlement failed")
        return True

    def give_up(self, *, why: str = "its lease ended") -> None:
        """Log and count the settlement as lost: its cost is in no shared budget. A
        release (no cost) loses nothing: its lease frees the reservation as it would."""
        reservation = self.reservation
        if not self.actual:
            self.counts.expired()
            return
        budgets = ", ".join(f"{c.budget.name}[{c.scope}]" for c in reservation.claims)
        _log.warning(
            "Reservation %s of %s was never settled: its cost of $%s is not counted on "
            "budgets %s. The budget store %s failed it %d times until %s (last: %s). "
            "Check that the store is reachable; BudgetGate.settlement_stats() counts these.",
            reservation.id,
            reservation.deployment,
            f"{from_pico(self.actual):f}",
            budgets,
            self.store.url,
            self.tries + 1,
            why,
            _shown(self.error),
        )
        self.counts.lost(reservation, self.actual)

    def _wait(self) -> float:
        """Exponential backoff with jitter: the next retry's delay in seconds."""
        ceiling = min(MAX_RETRY, self.lease_seconds / 3)
        return min(ceiling, FIRST_RETRY * 2.0**self.tries) * random.uniform(0.5, 1.0)


def _shown(error: BaseException | None) -> str:
    """The driver's error under a `BudgetStoreError` (whose own text is about refusing
    calls), with any password or key in it masked."""
    if error is None:
        return "none"
    cause = error.__cause__ if isinstance(error, BudgetStoreError) and error.__cause__ else error
    return redacted(url_passwords_masked(f"{type(cause).__name__}: {cause}"))
