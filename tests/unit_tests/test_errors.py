"""The error tree is imported from errors.py, and says so wherever its classes live.

Its root and its budget branch live in private modules (`_error_root`,
`_budget_errors`), but a traceback, a repr or a pickle names the class by its
``__module__``: users must see ``langchain_costrouter.errors.BudgetExhaustedError``,
the name they import and filter warnings by, never a private module's.
"""

from __future__ import annotations

import pickle
import warnings
from decimal import Decimal

import pytest

from langchain_costrouter import errors


def test_every_public_error_and_warning_names_errors_py_as_its_module() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    assert len(classes) >= 19
    assert {cls.__module__ for cls in classes} == {"langchain_costrouter.errors"}
    assert all(issubclass(c, errors.CostRouterError | UserWarning) for c in classes)


def test_errors_pickle_under_errors_py() -> None:
    again = pickle.loads(pickle.dumps(errors.CostRouterError("boom")))
    assert type(again) is errors.CostRouterError and str(again) == "boom"
    pickled = pickle.dumps(errors.BudgetStoreError("redis://cache", ConnectionError("refused")))
    assert b"langchain_costrouter.errors" in pickled
    assert b"_budget_errors" not in pickled


def test_the_budget_branch_keeps_its_subclassing() -> None:
    exhausted = errors.BudgetExhaustedError(
        budget_name="daily",
        scope="global",
        task="chat",
        spent_usd=Decimal("1"),
        reserved_usd=Decimal("0"),
        limit_usd=Decimal("1"),
        needed_usd=Decimal("0.01"),
        reset_at=None,
        downgrade=False,
    )
    assert isinstance(exhausted, errors.BudgetExceededError)
    assert isinstance(exhausted, errors.CostRouterError)


def test_a_warning_filter_by_the_public_name_catches_a_budget_warning() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=errors.BudgetSoftLimitWarning)
        with pytest.raises(errors.BudgetSoftLimitWarning):
            warnings.warn("soft limit", errors.BudgetSoftLimitWarning, stacklevel=1)
