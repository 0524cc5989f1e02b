from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_costrouter.checks import (
    AllOf,
    AnyOf,
    FunctionCheck,
    JudgeCheck,
    LabelSet,
    NotRefusal,
    RegexMatch,
    Weighted,
)
from langchain_costrouter.checks.base import (
    CheckResult,
    QualityCheck,
    failed_check_of,
    paid_calls_of,
    take_cut_checks,
    take_failed_check,
)
from langchain_costrouter.testing.models import ScriptedChatModel

QUESTION = [HumanMessage("Is this sentence overruling? Answer Yes or No.")]
USAGE = {"input_tokens": 50, "output_tokens": 5, "total_tokens": 55}


def judge(*ratings: int) -> FakeMessagesListChatModel:
    replies = [
        AIMessage(f"Rating: [[{r}]]", usage_metadata=USAGE, response_metadata={"model_name": "j"})
        for r in ratings
    ]
    return FakeMessagesListChatModel(responses=replies)


def constant(value: float, name: str) -> FunctionCheck:
    return FunctionCheck(lambda messages, answer, previous: value, name=name)


def test_all_of_takes_the_minimum_and_collects_side_calls() -> None:
    check = AllOf([NotRefusal(), JudgeCheck(judge(7), name="judge_a"), constant(0.9, "c")])
    result = check.evaluate(QUESTION, AIMessage("Yes"))
    assert result.score == pytest.approx(6 / 9)
    assert len(result.cost_messages) == 1
    assert result.reason.startswith("not_refusal=1.00 (ok); judge_a=0.67")


def test_all_of_stops_before_the_judge_on_a_free_failure() -> None:
    model = judge(10)
    result = AllOf([NotRefusal(), JudgeCheck(model)]).evaluate(QUESTION, AIMessage("I can't help"))
    assert result.score == 0.0
    assert result.cost_messages == ()
    assert model.i == 0  # the judge was never called


def test_any_of_takes_the_maximum_and_stops_at_a_pass() -> None:
    labels = LabelSet(["Yes", "No"])
    fallback = RegexMatch(r"^(Yes|No)\b")
    assert AnyOf([labels, fallback]).evaluate(QUESTION, AIMessage("No, it is not")).score == 1.0
    result = AnyOf([labels, constant(0.2, "never_run")]).evaluate(QUESTION, AIMessage("Yes"))
    assert "never_run" not in result.reason
    assert AnyOf([labels, constant(0.2, "c")]).evaluate(QUESTION, AIMessage("Maybe")).score == 0.2


def test_weighted_mean() -> None:
    check = Weighted([constant(1.0, "a"), constant(0.0, "b"), constant(0.5, "c")], [2, 1, 1])
    assert check.evaluate(QUESTION, AIMessage("x")).score == pytest.approx(0.625)


def test_weighted_float_sums_stay_in_range() -> None:
    check = Weighted([constant(1.0, str(i)) for i in range(10)], [0.1] * 10)
    assert check.evaluate(QUESTION, AIMessage("x")).score == 1.0


async def test_async_composition_collects_nested_side_calls() -> None:
    inner = AllOf([NotRefusal(), JudgeCheck(judge(10))])
    check = Weighted([inner, JudgeCheck(judge(1))], [1, 1])
    result = await check.aevaluate(QUESTION, AIMessage("Yes"))
    assert result.score == pytest.approx(0.5)
    assert len(result.cost_messages) == 2


@pytest.mark.parametrize(
    ("checks", "weights"),
    [([], []), ([NotRefusal()], [1, 2]), ([NotRefusal()], [0]), ([NotRefusal()], [-1])],
)
def test_weighted_rejects_bad_weights(checks: list[NotRefusal], weights: list[float]) -> None:
    with pytest.raises(ValueError):
        Weighted(checks, weights)


def test_empty_all_of_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AllOf([])


def _answering_then_failing() -> tuple[JudgeCheck, JudgeCheck]:
    """Judge a answers (a paid reply), judge b's provider fails."""
    answering = ScriptedChatModel(model="a", answers=["Good. Rating: [[8]]"])
    failing = ScriptedChatModel(model="b", answers=[ModelAPIError("HTTP 500 from judge b")])
    return JudgeCheck(answering, name="a"), JudgeCheck(failing, name="b")


async def _evaluate(check: QualityCheck, awaited: bool) -> CheckResult:
    if awaited:
        return await check.aevaluate(QUESTION, AIMessage("Yes"))
    return check.evaluate(QUESTION, AIMessage("Yes"))


@pytest.mark.parametrize("composite", [AllOf, AnyOf])
@pytest.mark.parametrize("awaited", [False, True], ids=["evaluate", "aevaluate"])
async def test_a_judge_that_raises_carries_the_earlier_judges_paid_replies(
    composite: type[AllOf | AnyOf], awaited: bool
) -> None:
    """The error propagates as it was, with what the composite had paid before it."""
    first, failing = _answering_then_failing()
    with pytest.raises(ModelAPIError) as raised:
        await _evaluate(composite([first, failing]), awaited)

    assert isinstance(failing.llm, ScriptedChatModel) and failing.llm.calls == 1
    assert raised.value is failing.llm.answers[0]  # the judge's own error, as it was
    (paid,) = paid_calls_of(raised.value)
    assert paid.usage_metadata is not None and paid.usage_metadata["output_tokens"] > 0
    assert paid.response_metadata["model_name"] == "a"


async def test_nested_composites_carry_every_paid_reply_in_order() -> None:
    first, failing = _answering_then_failing()
    outer = AllOf([JudgeCheck(judge(9), name="outer"), AnyOf([first, failing])])
    with pytest.raises(ModelAPIError) as raised:
        await outer.aevaluate(QUESTION, AIMessage("Yes"))
    assert [m.response_metadata["model_name"] for m in paid_calls_of(raised.value)] == ["j", "a"]


@pytest.mark.parametrize("awaited", [False, True], ids=["evaluate", "aevaluate"])
async def test_weighted_carries_the_replies_of_the_judges_that_answered(awaited: bool) -> None:
    check = Weighted(list(_answering_then_failing()), [1, 1])
    with pytest.raises(ModelAPIError) as raised:
        await _evaluate(check, awaited)
    assert [m.response_metadata["model_name"] for m in paid_calls_of(raised.value)] == ["a"]


def _weighted(checks: list[QualityCheck]) -> Weighted:
    return Weighted(checks, [1, 1])


@pytest.mark.parametrize("composite", [AllOf, AnyOf, _weighted])
@pytest.mark.parametrize("awaited", [False, True], ids=["evaluate", "aevaluate"])
async def test_the_check_that_raised_is_named_on_its_error(
    composite: Callable[[list[QualityCheck]], QualityCheck], awaited: bool
) -> None:
    """A composite has no model of its own: the error says which of its checks (whose
    model) failed, so the cascade records that judge, not the composite."""
    first, failing = _answering_then_failing()
    with pytest.raises(ModelAPIError) as raised:
        await _evaluate(composite([first, failing]), awaited)
    assert failed_check_of(raised.value) is failing
    assert take_failed_check(raised.value) is failing
    assert failed_check_of(raised.value) is None  # taken: named once


@pytest.mark.parametrize("awaited", [False, True], ids=["evaluate", "aevaluate"])
async def test_nested_composites_name_the_innermost_check_that_raised(awaited: bool) -> None:
    first, failing = _answering_then_failing()
    inner = AnyOf([first, failing], name="inner")
    outer = Weighted([JudgeCheck(judge(9), name="outer"), inner], [1, 1])
    with pytest.raises(ModelAPIError) as raised:
        await _evaluate(AllOf([outer]), awaited)
    assert failed_check_of(raised.value) is failing


def test_an_error_no_composite_saw_names_no_check() -> None:
    assert failed_check_of(ModelAPIError("HTTP 500")) is None


class _AsyncJudge(BaseChatModel):
    """An async judge model answering "Rating: [[8]]" after ``delay`` seconds."""

    delay: float
    model: str

    @property
    def _llm_type(self) -> str:
        return "async-judge"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError("awaited only")

    async def _agenerate(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> ChatResult:
        await asyncio.sleep(self.delay)
        reply = AIMessage(
            "Rating: [[8]]", usage_metadata=USAGE, response_metadata={"model_name": self.model}
        )
        return ChatResult(generations=[ChatGeneration(message=reply)])


def _async_judge(model: str, delay: float) -> JudgeCheck:
    return JudgeCheck(_AsyncJudge(delay=delay, model=model), name=model)


async def _cancelled_after(check: QualityCheck, seconds: float) -> asyncio.CancelledError:
    evaluation = asyncio.create_task(check.aevaluate(QUESTION, AIMessage("Yes")))
    await asyncio.sleep(seconds)
    evaluation.cancel()
    with pytest.raises(asyncio.CancelledError) as raised:
        await evaluation
    return raised.value


async def test_a_cancelled_weighted_check_carries_the_finished_judges_replies() -> None:
    """Its judges run at once: the cancellation carries what the finished ones paid
    and names the ones it cut off, which were asked, for the cascade to bill."""
    fast, slow = _async_judge("fast", 0), _async_judge("slow", 30)
    cancelled = await _cancelled_after(Weighted([fast, slow], [1, 1]), 0.2)
    assert [m.response_metadata["model_name"] for m in paid_calls_of(cancelled)] == ["fast"]
    assert take_cut_checks(cancelled) == (slow,)
    assert take_cut_checks(cancelled) == ()  # taken: billed once


async def test_nested_weighted_checks_name_every_judge_they_cut_off() -> None:
    fast, slow, slower = (_async_judge(m, d) for m, d in (("fast", 0), ("slow", 30), ("s2", 30)))
    inner = Weighted([fast, slow], [1, 1], name="inner")
    cancelled = await _cancelled_after(Weighted([inner, AllOf([slower])], [1, 1]), 0.2)
    assert [m.response_metadata["model_name"] for m in paid_calls_of(cancelled)] == ["fast"]
    assert take_cut_checks(cancelled) == (slow, slower)
