"""A call made before the cascade answers only the cascade step it stands for."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from langchain_costrouter import Deployment
from langchain_costrouter.steps import Called, CallModel, Primed, Sleep, use_primed
from langchain_costrouter.testing.models import ScriptedChatModel


def deployment(model: str) -> Deployment:
    return Deployment.of(ScriptedChatModel(model=model, answers=["ok"]))


def test_the_primed_result_answers_the_call_it_stands_for_once() -> None:
    first = deployment("a")
    called = Called(AIMessage("hi"), None, 1.0)
    primed = Primed(first, called)
    answer, rest = use_primed(Sleep(0.1), primed)
    assert (answer, rest) == (None, primed)  # not a call: still primed
    answer, rest = use_primed(CallModel(first, 0), primed)
    assert answer is called
    assert rest is None


def test_a_cascade_starting_elsewhere_drops_the_primed_result() -> None:
    primed = Primed(deployment("a"), Called(None, TimeoutError("slow"), 1.0))
    answer, rest = use_primed(CallModel(deployment("b"), 0), primed)
    assert answer is None  # b is really called, not handed a's failure
    assert rest is None
