"""Budget accounts a nested router counted already, so its caller does not count them again.

A router whose compressor's (or judge's) model is a router too charges that router's
attempts to its own budgets (a ``Charge`` per attempt). When the inner router has
budgets on the same store, it has reserved and settled those attempts already:
charging the same accounts again would count each dollar twice and refuse calls before
the limit. While the caller's side call runs, `counting` collects the accounts (claim
keys: budget, scope, window) that a gate on the caller's store settled; the caller then
charges the routed attempts to its other accounts only. An account the inner router
did not draw on (another task's, another budget's) is still charged: the inner call
runs under its own task and budgets (with the caller's run metadata, so a per-tenant
budget of both is drawn on in the caller's tenant once), and the caller's accounts must
see its spend.
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
    """The accounts (claim keys) settled on ``store`` while a caller's side call ran."""

    store: object
    """`store_identity` of the caller's store."""
    keys: set[str] = field(default_factory=set)


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
        counted.keys.update(claim.key for claim in claims)
