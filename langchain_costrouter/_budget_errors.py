"""The budget branch of the error tree, and the budget's warnings.

A call refused for money: its own per-request cap (`BudgetExceededError`), a shared
budget with no room left (`BudgetExhaustedError`, a subclass, so one ``except`` catches
both), or a budget store that failed (`BudgetStoreError`). Users import them from
errors.py, which gathers the tree, and each class's ``__module__`` names it, so
tracebacks, reprs and pickles say ``langchain_costrouter.errors.BudgetStoreError``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from langchain_costrouter._error_root import CostRouterError
from langchain_costrouter._secrets import redacted, url_passwords_masked


class BudgetExceededError(CostRouterError):
    """Every tier of a route was skipped because its estimated cost broke the budget."""

    __module__ = "langchain_costrouter.errors"  # its documented home

    def __init__(self, task: str, budget: float | None, attempts: list[Any]) -> None:
        self.task = task
        self.budget = budget
        self.attempts = attempts
        super().__init__(
            f"No tier of route {task!r} fits the per-request budget of ${budget}. "
            "Raise max_cost_usd, lower max_tokens, or add a cheaper tier."
        )


class BudgetExhaustedError(BudgetExceededError):
    """A shared budget (per tenant, per task or global) has no room for a call's worst case.

    A subclass, so code catching `BudgetExceededError` catches both kinds of budget.
    ``downgrade`` tells the request path that every budget that refused allows serving
    from a cheaper deployment instead (``on_exhausted="downgrade"``).
    """

    __module__ = "langchain_costrouter.errors"  # its documented home

    def __init__(
        self,
        *,
        budget_name: str,
        scope: str,
        task: str,
        spent_usd: Decimal,
        reserved_usd: Decimal,
        limit_usd: Decimal,
        needed_usd: Decimal,
        reset_at: datetime | None,
        downgrade: bool,
    ) -> None:
        self.budget_name = budget_name
        self.scope = scope
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.limit_usd = limit_usd
        self.needed_usd = needed_usd
        self.reset_at = reset_at
        self.downgrade = downgrade
        self.task = task
        self.budget = float(limit_usd)
        self.attempts: list[Any] = []
        resets = f"It resets at {reset_at.isoformat()}" if reset_at else "It never resets"
        CostRouterError.__init__(
            self,
            f"Budget {budget_name!r} ({scope}) is exhausted: ${spent_usd:f} spent and "
            f"${reserved_usd:f} reserved by calls in flight, of ${limit_usd:f}; this call "
            f"needs up to ${needed_usd:f}. {resets}. Wait for the reset, raise limit_usd, lower "
            "max_tokens, or set on_exhausted='downgrade' to serve from a cheaper model.",
        )


class BudgetStoreError(CostRouterError):
    """The shared budget store failed, so a call's budgets could not be checked."""

    __module__ = "langchain_costrouter.errors"  # its documented home

    def __init__(self, store: str, error: BaseException) -> None:
        self.store = store
        said = redacted(url_passwords_masked(str(error)))  # a driver may quote its URL
        super().__init__(
            f"The budget store {store} failed ({type(error).__name__}: {said}); calls are "
            "refused while their budgets cannot be checked. Check that the store is up, or "
            "let calls through unbudgeted: RoutedChatModel(on_budget_store_error='allow'), "
            'on_budget_store_error = "allow" under [router] in the config file, or '
            "BudgetGate(on_store_error='allow')."
        )


class BudgetSoftLimitWarning(UserWarning):
    """A budget's spend crossed its soft threshold (once per budget, scope and window)."""

    __module__ = "langchain_costrouter.errors"  # its documented home


class BudgetLeaseExpiredWarning(UserWarning):
    """A call was settled after its budget reservation's lease ran out: for the rest of
    the call its worst case was not held, so concurrent calls could take that room (its
    cost still counted once). The router renews its calls' leases while they run, so
    this says the renewals failed (the store unreachable, the process paused); a
    reservation made with ``BudgetGate.reserve`` is renewed only when passed to ``keep``."""

    __module__ = "langchain_costrouter.errors"  # its documented home


__all__ = [
    "BudgetExceededError",
    "BudgetExhaustedError",
    "BudgetLeaseExpiredWarning",
    "BudgetSoftLimitWarning",
    "BudgetStoreError",
]
