"""PEP 562 lazy exports: a package's public names are imported when first used.

A package ``__init__`` that imports its modules up front makes ``import package`` cost
as much as everything below it: for ``langchain_costrouter`` that was langchain-openai,
SQLAlchemy, numpy and the batching stack, seconds before ``costrouter --help`` printed
a line. With `lazy_exports` an ``__init__`` says in which module each public name
lives; the first ``package.Name`` (or ``from package import Name``) imports that
module alone, and the value is stored on the package so later reads are plain
attribute look-ups. Type checkers read the same names from ``if TYPE_CHECKING:``
imports beside the table, so ``__getattr__`` stays out of their sight and a misspelt
name is still an error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(
    package: str, names_by_module: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: The package's ``__name__``.
        names_by_module: Absolute module name -> the public names it defines.
    """
    module_of = {name: module for module, names in names_by_module.items() for name in names}

    def load(name: str) -> object:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next read skips __getattr__
        return value

    def names() -> list[str]:
        return sorted({*vars(sys.modules[package]), *module_of})

    return load, names


def class_if_imported(module: str, name: str) -> type | None:
    """``module.name`` when ``module`` is already imported, else None; never imports it.

    An instance of a class (a langchain-openai model, an openai error) can only exist
    once its module has been imported, so an isinstance or except check against a
    module that is not loaded can say no without paying to import it (langchain-openai
    and openai take about a second).
    """
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None)
    return found if isinstance(found, type) else None
