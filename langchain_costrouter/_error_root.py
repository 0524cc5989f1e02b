"""`CostRouterError`, the root of the error tree, alone below its branches.

errors.py gathers the tree and is where users import it from; the budget branch lives
in `_budget_errors`, which derives from this root without importing errors.py back.
Its ``__module__`` names errors.py, so tracebacks, reprs and pickles say
``langchain_costrouter.errors.CostRouterError``, where users find it.
"""

from __future__ import annotations

import copyreg


class CostRouterError(Exception):
    """Base class of every error raised by langchain-costrouter."""

    __module__ = "langchain_costrouter.errors"  # its documented home

    def __reduce__(self) -> tuple[object, ...]:
        """Rebuild from ``args`` and ``__dict__`` without calling ``__init__`` again.

        Errors raised in worker processes (``ProcessPoolExecutor``, ``multiprocessing``,
        ray, celery) are pickled back to the parent. Exception's own reduce calls
        ``cls(*self.args)``, but the subclasses' ``__init__`` take other arguments than
        their message (keywords, the failed store's exception), so the parent got a
        ``TypeError`` instead of the error. ``args`` (hence str and repr) and the
        attributes are restored as they were, and nothing is kept that an instance
        does not already hold.
        """
        # __newobj__ (pickle's NEWOBJ, cls.__new__(cls, *args)) is missing from typeshed.
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]
        return (newobj, (type(self), *self.args), self.__dict__)


__all__ = ["CostRouterError"]
