"""Budgets and rate limits shared across processes and machines.

``Budget(name="tenant-daily", limit_usd=50, period="day", per="tenant")`` caps each
tenant's spend per UTC day; ``RateLimit(rpm=500, tpm=200_000)`` caps a deployment's
requests and tokens per minute. A `BudgetGate` enforces both through a store picked by
URL: ``memory://`` (one process), ``sqlite:///PATH`` (one machine), ``redis://`` or
``postgresql+psycopg://`` (many machines). Around each provider attempt the request
path calls `BudgetGate.acquire_rate`, `BudgetGate.reserve` (the attempt's worst case,
from `WorstCase`), then `BudgetGate.settle` with the real cost or `BudgetGate.release`.
"""

from langchain_costrouter.budgets.config import (
    RATE_LIMIT_KEYS,
    budgets_from_config,
    parse_budgets,
    rate_limits_from_models,
)
from langchain_costrouter.budgets.estimate import WorstCase
from langchain_costrouter.budgets.gate import BudgetGate
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

Gate = BudgetGate | NullBudgetGate
"""What the request path holds: a real gate, or the free one of a router without budgets."""

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
