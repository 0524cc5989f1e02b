"""The precomputed signatures langchain-core reads on every call stay truthful."""

from __future__ import annotations

import inspect

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.router._signatures import presigned
from langchain_costrouter.testing.models import ScriptedChatModel


def test_bound_methods_still_report_run_manager_and_drop_self() -> None:
    router = RoutedChatModel(routes={"chat": [ScriptedChatModel(answers=["ok"])]})
    for method in (router._generate, router._agenerate):
        parameters = inspect.signature(method).parameters
        assert "run_manager" in parameters  # langchain-core passes it only if listed
        assert "self" not in parameters


def test_presigned_stores_the_signature_inspect_would_compute() -> None:
    def call(a: int, *, run_manager: object = None) -> int:
        return a

    expected = inspect.signature(call)
    assert inspect.signature(presigned(call)) == expected
    assert call.__signature__ == expected  # type: ignore[attr-defined]
