"""Budgets and rate limits shared across processes and machines.

``Budget(name="tenant-daily", limit_usd=50, period="day", per="tenant")`` caps each
tenant's spend per UTC day; ``RateLimit(rpm=500, tpm=200_000)`` caps a deployment's
requests and tokens per minute. A `BudgetGate` enforces both through a store picked by
URL: ``memory://`` (one process), ``sqlite:///PATH`` (one machine), ``redis://`` or
``postgresql+psycopg://`` (many machines). Around each provider attempt the request
path calls `BudgetGate.reserve` (the attempt's worst case, from `WorstCase`), then
`BudgetGate.acquire_rate` (a slot not granted releases the reservation, so a refused
call consumes neither), then `BudgetGate.settle` with the real cost or
`BudgetGate.release`.
"""

from typing import TYPE_CHECKING

from langchain_costrouter._lazy import lazy_exports

# Lazy (PEP 562): a router without budgets needs the models and the null gate, not the
# SQL and Redis stores.
if TYPE_CHECKING:
    from langchain_costrouter.budgets.config import (
        RATE_LIMIT_KEYS,
        budgets_from_config,
        parse_budgets,
        rate_limits_from_models,
    )
    from langchain_costrouter.budgets.estimate import WorstCase
    from langchain_costrouter.budgets.gate import BudgetGate, Gate
    from langchain_costrouter.budgets.model import Budget, CallContext, RateLimit
    from langchain_costrouter.budgets.null_gate import NullBudgetGate
    from langchain_costrouter.budgets.reservation import (
        BudgetStatus,
        Reservation,
        Settlement,
        SoftLimitCrossed,
    )
    from langchain_costrouter.budgets.store import BudgetStore, RateGrant
    from langchain_costrouter.budgets.urls import open_store
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "langchain_costrouter.budgets.config": (
                "RATE_LIMIT_KEYS",
                "budgets_from_config",
                "parse_budgets",
                "rate_limits_from_models",
            ),
            "langchain_costrouter.budgets.estimate": ("WorstCase",),
            "langchain_costrouter.budgets.gate": ("BudgetGate", "Gate"),
            "langchain_costrouter.budgets.model": ("Budget", "CallContext", "RateLimit"),
            "langchain_costrouter.budgets.null_gate": ("NullBudgetGate",),
            "langchain_costrouter.budgets.reservation": (
                "BudgetStatus",
                "Reservation",
                "Settlement",
                "SoftLimitCrossed",
            ),
            "langchain_costrouter.budgets.store": ("BudgetStore", "RateGrant"),
            "langchain_costrouter.budgets.urls": ("open_store",),
        },
    )

__all__ = [
    "RATE_LIMIT_KEYS",
    "Budget",
    "BudgetGate",
    "BudgetStatus",
    "BudgetStore",
    "CallContext",
    "Gate",
    "NullBudgetGate",
    "RateGrant",
    "RateLimit",
    "Reservation",
    "Settlement",
    "SoftLimitCrossed",
    "WorstCase",
    "budgets_from_config",
    "open_store",
    "parse_budgets",
    "rate_limits_from_models",
]
