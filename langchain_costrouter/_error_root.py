"""`CostRouterError`, the root of the error tree, alone below its branches.

errors.py gathers the tree and is where users import it from; the budget branch lives
in `_budget_errors`, which derives from this root without importing errors.py back.
Its ``__module__`` names errors.py, so tracebacks, reprs and pickles say
``langchain_costrouter.errors.CostRouterError``, where users find it.
"""

from __future__ import annotations


class CostRouterError(Exception):
    """Base class of every error raised by langchain-costrouter."""

    __module__ = "langchain_costrouter.errors"  # its documented home


__all__ = ["CostRouterError"]
