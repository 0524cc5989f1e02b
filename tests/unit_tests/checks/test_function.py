from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_costrouter.checks import FunctionCheck

QUESTION = [HumanMessage("Summarise the report.")]


def length_ratio(
    messages: Sequence[BaseMessage], answer: AIMessage, previous: Sequence[AIMessage]
) -> float:
    """A stand-in learned scorer: longer summaries score higher, up to 1."""
    return min(1.0, len(answer.text) / 20)


def test_function_check_scores_with_the_function() -> None:
    check = FunctionCheck(length_ratio)
    assert check.name == "length_ratio"
    result = check.evaluate(QUESTION, AIMessage("ten chars!"))
    assert result.score == 0.5
    assert result.reason == "scored by length_ratio"


def test_previous_answers_reach_the_function() -> None:
    check = FunctionCheck(lambda m, a, previous: float(len(previous) == 2), name="two")
    assert (
        check.evaluate(QUESTION, AIMessage("x"), previous=[AIMessage("a"), AIMessage("b")]).score
        == 1.0
    )


def test_out_of_range_scores_are_a_bug_not_a_clamp() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        FunctionCheck(lambda m, a, p: 3.0).evaluate(QUESTION, AIMessage("x"))


async def test_async_function_is_used_when_given() -> None:
    async def remote(
        messages: Sequence[BaseMessage], answer: AIMessage, previous: Sequence[AIMessage]
    ) -> float:
        return 0.25

    check = FunctionCheck(length_ratio, afn=remote)
    assert (await check.aevaluate(QUESTION, AIMessage("x" * 40))).score == 0.25
    assert (await FunctionCheck(length_ratio).aevaluate(QUESTION, AIMessage("x" * 40))).score == 1.0
