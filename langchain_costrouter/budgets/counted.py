"""Budgets a nested router counted already, so its caller does not count them again.

A router whose compressor's model is a router too charges that router's attempts to
its own budgets (a ``Charge`` per attempt). When the inner router has budgets on the
same store, it has reserved and settled those attempts already: charging the same
budgets again would count each dollar twice and refuse calls before the limit. While
the caller's compressor runs, `counting` collects the budgets (by name) that a gate on
the caller's store settled; the caller then charges the routed attempts to its other
budgets only. A budget is counted once per dollar, in the scope the inner router
reserved it in (its task, its run metadata).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.store import BudgetStore


@dataclass(slots=True)
class Counted:
    """The budgets settled on ``store`` (by name) while a caller's compressor ran."""

    store: object
    """`store_identity` of the caller's store."""
    budgets: set[str] = field(default_factory=set)


_COUNTING: ContextVar[Counted | None] = ContextVar("costrouter_budgets_counted", default=None)


def store_identity(store: BudgetStore) -> object:
    """What makes two stores one: the object in process (``memory://``), else its URL
    and key or table prefix (two routers that opened the same database or Redis)."""
    url = getattr(store, "url", None)
    if not isinstance(url, str):
        return store
    tables = getattr(store, "tables", None)
    accounts = getattr(getattr(tables, "accounts", None), "name", None)
    return (type(store).__name__, url, getattr(store, "prefix", None), accounts)


def counting(store: BudgetStore) -> tuple[Counted, Token[Counted | None]]:
    """Start collecting what gates on ``store`` settle; returns the collector and the
    token that `stop_counting` takes."""
    counted = Counted(store_identity(store))
    return counted, _COUNTING.set(counted)


def stop_counting(token: Token[Counted | None]) -> None:
    """End `counting` (a generator closed from another context: not ours to reset)."""
    with suppress(ValueError):
        _COUNTING.reset(token)


def note_settled(store: BudgetStore, claims: Iterable[Claim]) -> None:
    """A gate settled ``claims`` on ``store``: a caller collecting for it is told."""
    counted = _COUNTING.get()
    if counted is not None and (counted.store is store or counted.store == store_identity(store)):
        counted.budgets.update(claim.budget.name for claim in claims)
