"""The precomputed signatures langchain-core reads on every call stay truthful."""

from __future__ import annotations

import asyncio
import inspect
import types

from langchain_core.language_models import BaseChatModel

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.router._signatures import presigned
from langchain_costrouter.testing.models import ScriptedChatModel


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name

    @presigned
    def run(self, messages: list[str], stop: object = None, run_manager: object = None) -> str:
        return f"{self.name}:{len(messages)}:{run_manager}"

    @presigned
    async def arun(self, messages: list[str], *, run_manager: object = None) -> str:
        return f"{self.name}:{messages[0]}"


def test_bound_methods_still_report_run_manager_and_drop_self() -> None:
    router = RoutedChatModel(routes={"chat": [ScriptedChatModel(answers=["ok"])]})
    for method in (router._generate, router._agenerate):
        parameters = inspect.signature(method).parameters
        assert "run_manager" in parameters  # langchain-core passes it only if listed
        assert "self" not in parameters


def test_the_signature_read_from_an_instance_is_the_methods_without_self() -> None:
    model = _Model("a")
    expected = inspect.signature(types.MethodType(_Model.run, model))  # a plain bound method's
    assert inspect.signature(model.run) == expected


def test_a_presigned_method_calls_through_to_its_own_instance() -> None:
    first, second = _Model("a"), _Model("b")

    assert first.run(["x", "y"], run_manager="rm") == "a:2:rm"
    assert second.run(["x"]) == "b:1:None"
    assert asyncio.run(second.arun(["q"])) == "b:q"
    assert inspect.iscoroutinefunction(second.arun)


def test_the_class_keeps_the_plain_function() -> None:
    assert inspect.isfunction(_Model.run)
    assert inspect.isfunction(RoutedChatModel._generate)
    assert RoutedChatModel._generate is not BaseChatModel._generate
