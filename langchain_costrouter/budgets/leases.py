"""Leases renewed while their calls run, so a long call keeps holding its worst case.

A lease exists so that a process that died mid-call frees its reservation: after
``lease_seconds`` the store stops counting it. A call of this process that simply runs
longer (a minutes-long stream, a slow reasoning model) lost its reservation the same
way, and other machines could spend the worst case of a call still under way. A kept
reservation (`BudgetGate.keep`; the router keeps every attempt's) has its lease pushed
a whole lease past now every third of a lease, by one thread per process, until it is
settled or released, or nothing holds it any more (it is held weakly: a call that was
dropped without settling stops being renewed, and its lease runs out as before). A
process that dies stops renewing with it, so ``lease_seconds`` is now how long a dead
process's reservations outlive it, not a bound on the longest call.

A renewal that finds the lease gone (it ran out while the store was unreachable, or the
process was paused longer than a lease) stops renewing it; its settlement still counts
once and warns. A store that fails a renewal is tried again at the next round, warned.

The same thread tries again the settlements a store failed (budgets/pending.py), each
when its backoff is over, or at once when a settlement on its store succeeds.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
import warnings
import weakref
from dataclasses import dataclass

from langchain_costrouter.budgets.pending import Owed
from langchain_costrouter.budgets.reservation import Reservation
from langchain_costrouter.budgets.store import BudgetStore
from langchain_costrouter.errors import BackendUnavailableWarning

RENEW_EVERY = 1 / 3
"""Fraction of a lease between two renewals: two renewals may fail before it runs out."""


@dataclass(slots=True)
class _Kept:
    id: str
    reservation: weakref.ref[Reservation]
    store: BudgetStore
    lease_seconds: float
    due: float
    """`time.monotonic` time of the next renewal."""


class LeaseKeeper:
    """The reservations kept in this process, the settlements it owes its stores, and
    the thread that renews the one and retries the other."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._kept: dict[str, _Kept] = {}
        self._owed: list[Owed] = []
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf

    def keep(self, store: BudgetStore, reservation: Reservation, lease_seconds: float) -> None:
        """Renew ``reservation``'s lease on ``store`` until `forget` (or it is dropped)."""
        due = time.monotonic() + lease_seconds * RENEW_EVERY
        kept = _Kept(reservation.id, weakref.ref(reservation), store, lease_seconds, due)
        with self._lock:
            self._kept[reservation.id] = kept
            self._woken_by(due)

    def owe(self, owed: Owed) -> None:
        """Try ``owed`` again until it is settled or its lease ends (budgets/pending.py)."""
        with self._lock:
            self._owed.append(owed)
            self._woken_by(owed.due)

    def store_answered(self, store: BudgetStore) -> None:
        """A settlement on ``store`` succeeded: what it owes is tried now, not after
        its backoff."""
        if self._owed:
            with self._lock:
                owed = [owed for owed in self._owed if owed.store is store]
                for waiting in owed:
                    waiting.due = 0.0
                if owed:
                    self._woken_by(0.0)

    def _woken_by(self, due: float) -> None:
        """Start the thread, and wake it if ``due`` comes before it would wake (lock held)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="costrouter-budget-leases", daemon=True
            )
            self._thread.start()
        if due < self._wakes_at:
            self._wake.notify()

    def forget(self, reservation: Reservation) -> None:
        """Stop renewing ``reservation`` (it is being settled or released)."""
        if self._kept:
            with self._lock:
                self._kept.pop(reservation.id, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = [kept for kept in self._kept.values() if kept.due <= now]
                for kept in due:
                    kept.due = now + kept.lease_seconds * RENEW_EVERY
                owed = [owed for owed in self._owed if owed.due <= now]
                for waiting in owed:  # taken out while tried: `give_up` never sees one twice
                    self._owed.remove(waiting)
                self._wakes_at = min(
                    (item.due for items in (self._kept.values(), self._owed) for item in items),
                    default=math.inf,
                )
                if not (due or owed):
                    timeout = None if self._wakes_at == math.inf else self._wakes_at - now
                    self._wake.wait(timeout)
                    continue
            for kept in due:
                self._renew(kept)
            for waiting in owed:
                if not waiting.retry():
                    with self._lock:
                        self._owed.append(waiting)

    def _renew(self, kept: _Kept) -> None:
        reservation = kept.reservation()
        if reservation is None or reservation.done:
            self._drop(kept)
            return
        started = time.monotonic()
        try:
            renewed = kept.store.renew(
                reservation.claims, reservation.id, reservation.amount, kept.lease_seconds
            )
        except Exception as error:  # the store is down: the next round tries again
            warnings.warn(
                f"{error} The lease of reservation {reservation.id} of "
                f"{reservation.deployment} was not renewed; it is tried again in "
                f"{kept.lease_seconds * RENEW_EVERY:g} s.",
                BackendUnavailableWarning,
                stacklevel=1,
            )
            return
        if renewed:
            reservation.deadline = started + kept.lease_seconds
        else:  # settled meanwhile, or ran out: nothing left to renew
            self._drop(kept)

    def _drop(self, kept: _Kept) -> None:
        with self._lock:
            if self._kept.get(kept.id) is kept:
                del self._kept[kept.id]

    def forget_parent(self) -> None:
        """In a forked child: the parent's reservations and settlements are the
        parent's to renew and retry."""
        self._start()

    def settle_owed(self, store: BudgetStore) -> None:
        """``store`` is being closed: what it owes is tried once more now, and what still
        fails is reported lost, rather than retried against a closed store."""
        with self._lock:
            owed = [owed for owed in self._owed if owed.store is store]
            self._owed = [owed for owed in self._owed if owed.store is not store]
        for waiting in owed:
            if not waiting.retry(last=True):
                waiting.give_up(why="its budget gate was closed")

    def give_up(self) -> None:
        """At exit: what is still owed is reported lost, never dropped unseen."""
        with self._lock:
            owed, self._owed = self._owed, []
        for waiting in owed:
            waiting.give_up(why="the process exited")


KEEPER = LeaseKeeper()
atexit.register(KEEPER.give_up)
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=KEEPER.forget_parent)
