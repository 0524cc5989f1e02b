"""Lazy exports: every public name still resolves, to the object its module defines."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from langchain_costrouter._lazy import class_if_imported, lazy_exports
from tests.fresh_python import fresh_python

LAZY_PACKAGES = (
    "langchain_costrouter",
    "langchain_costrouter.budgets",
    "langchain_costrouter.cache",
    "langchain_costrouter.checks",
    "langchain_costrouter.ledger",
    "langchain_costrouter.pricing",
)


@pytest.mark.parametrize("package_name", LAZY_PACKAGES)
def test_every_name_in_all_resolves_and_is_listed(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for name in package.__all__:
        value = getattr(package, name)
        # Classes and functions say where they live: the package hands out that object.
        home = getattr(value, "__module__", None)
        if isinstance(home, str) and home.startswith(package_name):
            assert getattr(importlib.import_module(home), name) is value
    assert set(package.__all__) <= set(dir(package))


@pytest.mark.parametrize("package_name", LAZY_PACKAGES)
def test_star_import_gives_every_name(package_name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package_name} import *", namespace)
    assert set(importlib.import_module(package_name).__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import langchain_costrouter

    with pytest.raises(AttributeError, match="'langchain_costrouter' has no attribute 'Nope'"):
        _ = langchain_costrouter.Nope  # type: ignore[attr-defined]
    with pytest.raises(ImportError, match="Nope"):
        exec("from langchain_costrouter.cache import Nope", {})


def test_a_name_loads_its_module_only_and_is_kept() -> None:
    code = (
        "import sys, json\n"
        "import langchain_costrouter.pricing as pricing\n"
        "before = 'langchain_costrouter.pricing.usage' in sys.modules\n"
        "counts = pricing.token_counts\n"
        "print(json.dumps([before, 'token_counts' in vars(pricing),\n"
        "    'langchain_costrouter.pricing.usage' in sys.modules,\n"
        "    'langchain_costrouter.pricing.table' in sys.modules]))"
    )
    assert fresh_python(code) == [False, True, True, False]


def test_lazy_exports_of_a_fresh_module() -> None:
    module = type(sys)("lazy_probe")
    sys.modules["lazy_probe"] = module
    try:
        load, names = lazy_exports("lazy_probe", {"json": ("dumps",), "math": ("pi", "tau")})
        assert load("dumps") is json.dumps
        assert vars(module)["dumps"] is json.dumps
        assert {"dumps", "pi", "tau"} <= set(names())
        with pytest.raises(AttributeError, match="'lazy_probe' has no attribute 'e'"):
            load("e")
    finally:
        del sys.modules["lazy_probe"]


def test_class_if_imported_never_imports() -> None:
    assert class_if_imported("json", "JSONDecodeError") is json.JSONDecodeError
    assert class_if_imported("json", "dumps") is None  # a function, not a class
    assert class_if_imported("json", "NoSuchClass") is None
    assert "wave" not in sys.modules  # a standard module nothing here imports
    assert class_if_imported("wave", "Wave_read") is None
    assert "wave" not in sys.modules
