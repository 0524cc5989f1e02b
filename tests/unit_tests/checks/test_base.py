"""The one check protocol: `evaluate`/`aevaluate` return a `CheckResult`."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_costrouter.checks import (
    AllOf,
    AnyOf,
    BaseCheck,
    CheckResult,
    NonEmpty,
    QualityCheck,
    Weighted,
)
from langchain_costrouter.checks.base import checks_within

QUESTION = [HumanMessage("Is the sky blue?")]


class ScoreOnly:
    """An object with the old score-only shape: not a quality check."""

    name = "score_only"

    def score(self, messages: Sequence[BaseMessage], answer: AIMessage) -> float:
        return 0.25


class Constant(BaseCheck):
    """A user-written check: only `evaluate`, the async twin comes from `BaseCheck`."""

    name = "constant"

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        return CheckResult(0.75, f"{len(previous)} previous")


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), float("inf")])
def test_check_result_rejects_scores_outside_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CheckResult(bad)


def test_check_result_defaults_to_no_side_calls() -> None:
    result = CheckResult(1.0)
    assert result.cost_messages == ()
    assert result.reason == ""


def test_built_in_and_user_checks_satisfy_the_protocol_and_score_only_objects_do_not() -> None:
    assert isinstance(NonEmpty(), QualityCheck)
    assert isinstance(Constant(), QualityCheck)
    assert not isinstance(ScoreOnly(), QualityCheck)


async def test_base_check_gives_a_pure_check_its_async_twin() -> None:
    previous = [AIMessage("no")]
    result = await Constant().aevaluate(QUESTION, AIMessage("yes"), previous=previous)
    assert result == Constant().evaluate(QUESTION, AIMessage("yes"), previous=previous)
    assert result == CheckResult(0.75, "1 previous")


def test_evaluate_keeps_a_built_in_reason() -> None:
    assert NonEmpty().evaluate(QUESTION, AIMessage("  ")) == CheckResult(0.0, "empty answer")
    assert NonEmpty().evaluate(QUESTION, AIMessage("yes")).score == 1.0


class Panel(Constant):
    """A user's own composite: its checks in a list, as the built-in ones hold them."""

    def __init__(self, checks: list[QualityCheck], name: str) -> None:
        self.checks = checks
        self.name = name


class Labelled(Constant):
    """A check whose ``checks`` attribute is no sequence of checks: nothing to walk."""

    def __init__(self, name: str, checks: object) -> None:
        self.checks = checks
        self.name = name


def test_checks_within_walks_every_composite_however_deep() -> None:
    """The judges inside composites are what the cascade must see before a check runs
    (an unpriced one is refused then): a composite has no model of its own."""
    leaf = [Labelled(name, checks="not checks") for name in ("a", "b", "c", "d")]
    check = AnyOf(
        [AllOf([leaf[0], Weighted([leaf[1]], [1], name="w")], name="all"), leaf[2]],
        name="any",
    )
    assert [c.name for c in checks_within(check)] == ["any", "all", "a", "w", "b", "c"]
    panel = Panel([leaf[3], check], "panel")
    assert [c.name for c in checks_within(panel)] == [
        "panel",
        "d",
        "any",
        "all",
        "a",
        "w",
        "b",
        "c",
    ]
    assert [c.name for c in checks_within(Labelled("x", [ScoreOnly(), 3]))] == ["x"]
