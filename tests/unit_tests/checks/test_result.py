from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_costrouter.checks import (
    CheckResult,
    EvaluatingCheck,
    NonEmpty,
    QualityCheck,
    aevaluate_check,
    evaluate_check,
)

QUESTION = [HumanMessage("Is the sky blue?")]


class ScoreOnlyCheck:
    """A user-written check that implements only the QualityCheck protocol."""

    name = "score_only"

    def score(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> float:
        return 0.25

    async def ascore(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> float:
        return 0.75


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), float("inf")])
def test_check_result_rejects_scores_outside_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CheckResult(bad)


def test_check_result_defaults_to_no_side_calls() -> None:
    result = CheckResult(1.0)
    assert result.cost_messages == ()
    assert result.reason == ""


def test_built_in_checks_satisfy_both_protocols() -> None:
    check = NonEmpty()
    assert isinstance(check, QualityCheck)
    assert isinstance(check, EvaluatingCheck)
    assert not isinstance(ScoreOnlyCheck(), EvaluatingCheck)


def test_score_and_ascore_wrap_evaluate() -> None:
    check = NonEmpty()
    assert check.score(QUESTION, AIMessage("yes")) == 1.0
    assert check.score(QUESTION, AIMessage("")) == 0.0


async def test_ascore_wraps_aevaluate() -> None:
    assert await NonEmpty().ascore(QUESTION, AIMessage("")) == 0.0


def test_evaluate_check_wraps_a_score_only_check() -> None:
    result = evaluate_check(ScoreOnlyCheck(), QUESTION, AIMessage("yes"))
    assert result == CheckResult(0.25)


async def test_aevaluate_check_uses_ascore_of_a_score_only_check() -> None:
    result = await aevaluate_check(ScoreOnlyCheck(), QUESTION, AIMessage("yes"))
    assert result.score == 0.75


def test_evaluate_check_keeps_a_built_in_reason() -> None:
    result = evaluate_check(NonEmpty(), QUESTION, AIMessage("  "))
    assert result == CheckResult(0.0, "empty answer")
