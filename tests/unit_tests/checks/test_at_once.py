"""Checks run at once (a `Weighted`'s, awaited): a judge that failed while the others ran
is named, with its error, on what the composite raises, a cancellation too, so that the
cascade records its failed call. Before, only the first error's judge was named, and a
cancellation named none that had failed."""

from __future__ import annotations

import asyncio

from langchain_core.exceptions import ModelAPIError
from langchain_core.messages import AIMessage

from langchain_costrouter.checks import AllOf, JudgeCheck, Weighted
from langchain_costrouter.checks.base import (
    QualityCheck,
    failed_check_of,
    take_cut_checks,
    take_failed_checks,
)
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.unit_tests.checks.test_compose import QUESTION, _async_judge, _cancelled_after


def _failing(model: str) -> tuple[JudgeCheck, ModelAPIError]:
    """A judge whose provider fails at once, and the error it raises."""
    error = ModelAPIError(f"HTTP 500 from judge {model}")
    return JudgeCheck(ScriptedChatModel(model=model, answers=[error]), name=model), error


async def test_a_cancellation_names_the_judge_that_had_failed_with_its_error() -> None:
    failing, error = _failing("b")
    slow = _async_judge("slow", 30)
    cancelled = await _cancelled_after(Weighted([failing, slow], [1, 1]), 0.2)
    assert take_cut_checks(cancelled) == (slow,)
    assert take_failed_checks(cancelled) == ((failing, error),)
    assert take_failed_checks(cancelled) == ()  # taken: recorded once


async def test_a_nested_cancellation_names_the_innermost_judges_that_had_failed() -> None:
    (first, first_error), (second, second_error) = _failing("b"), _failing("c")
    slow, slower = _async_judge("slow", 30), _async_judge("slower", 30)
    inner = Weighted([first, slow], [1, 1], name="inner")
    outer: QualityCheck = Weighted([inner, AllOf([second, slower])], [1, 1])
    cancelled = await _cancelled_after(outer, 0.2)
    assert take_cut_checks(cancelled) == (slow,)  # AllOf stopped at its failed judge
    assert take_failed_checks(cancelled) == ((first, first_error), (second, second_error))


async def test_the_error_of_the_first_failed_judge_names_the_others_that_failed() -> None:
    (first, first_error), (second, second_error) = _failing("b"), _failing("c")
    fine = JudgeCheck(ScriptedChatModel(model="a", answers=["Rating: [[8]]"]), name="a")
    check = Weighted([fine, first, AllOf([second], name="inner")], [1, 1, 1])
    raised = await asyncio.gather(
        check.aevaluate(QUESTION, AIMessage("Yes")), return_exceptions=True
    )
    assert raised == [first_error]
    assert failed_check_of(first_error) is first
    assert take_failed_checks(first_error) == ((second, second_error),)
