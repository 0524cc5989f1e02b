from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_costrouter.checks import JudgeCheck, parse_judge_score

QUESTION = [SystemMessage("Be brief."), HumanMessage("What is 2 + 2?")]
USAGE = {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150}


def reply(text: str) -> AIMessage:
    return AIMessage(text, usage_metadata=USAGE, response_metadata={"model_name": "judge-mini"})


def judge(*texts: str) -> FakeMessagesListChatModel:
    return FakeMessagesListChatModel(responses=[reply(t) for t in texts])


class AsyncOnlyJudge(BaseChatModel):
    """Records what it was asked; fails if called synchronously from an async check."""

    answer: str = "Rating: [[9]]"
    seen: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "async-only-judge"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise AssertionError("the async check must not call the sync path")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(messages)
        return ChatResult(generations=[ChatGeneration(message=reply(self.answer))])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is right.\n\nRating: [[10]]", 1.0),  # MT-Bench judge format
        ("Score: 1", 0.0),
        ("**Rating:** 7", 6 / 9),
        ("8/10", 7 / 9),
        ("I'd rate this a 9 out of 10.", 8 / 9),
        ("5", 4 / 9),
        ("A score of 3 would be harsh. Score: 6", 5 / 9),
    ],
)
def test_parse_judge_score(text: str, expected: float) -> None:
    assert parse_judge_score(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["no idea", "Rating: [[11]]", "Rating: 0", ""])
def test_parse_judge_score_gives_none_without_a_valid_rating(text: str) -> None:
    assert parse_judge_score(text) is None


def test_parse_judge_score_on_a_unit_scale() -> None:
    assert parse_judge_score("score: 0.8", 0.0, 1.0) == pytest.approx(0.8)


def test_judge_scores_and_returns_its_reply_as_a_side_call() -> None:
    result = JudgeCheck(judge("Correct. Rating: [[8]]")).evaluate(QUESTION, AIMessage("4"))
    assert result.score == pytest.approx(7 / 9)
    (side_call,) = result.cost_messages
    assert side_call.usage_metadata == USAGE
    assert side_call.response_metadata["model_name"] == "judge-mini"


def test_unparseable_judge_reply_fails_but_still_costs() -> None:
    result = JudgeCheck(judge("Looks fine to me!")).evaluate(QUESTION, AIMessage("4"))
    assert result.score == 0.0
    assert "no rating" in result.reason
    assert len(result.cost_messages) == 1


async def test_async_judge_uses_the_async_path_and_sees_the_conversation() -> None:
    model = AsyncOnlyJudge(seen=[])
    result = await JudgeCheck(model).aevaluate(QUESTION, AIMessage("4"))
    assert result.score == pytest.approx(8 / 9)
    prompt = model.seen[0][-1].text
    assert "What is 2 + 2?" in prompt
    assert "Be brief." in prompt
    assert "Candidate answer to its last message:\n4" in prompt


async def test_custom_prompt_with_previous_answer_and_unit_scale() -> None:
    model = AsyncOnlyJudge(seen=[], answer="0.9")
    check = JudgeCheck(
        model, "Q: {question}\nA: {answer}\nOther: {previous}\nScore 0-1.", scale=(0, 1)
    )
    result = await check.aevaluate(QUESTION, AIMessage("4"), previous=[AIMessage("5")])
    assert result.score == pytest.approx(0.9)
    assert model.seen[0][-1].text == "Q: What is 2 + 2?\nA: 4\nOther: 5\nScore 0-1."


def test_judge_prompt_with_unknown_variables_is_rejected() -> None:
    with pytest.raises(ValueError, match="context"):
        JudgeCheck(judge(), "Grade {answer} given {context}")


def test_judge_scale_must_be_increasing() -> None:
    with pytest.raises(ValueError, match="low < high"):
        JudgeCheck(judge(), scale=(10, 1))


class TagRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tags: list[list[str] | None] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        self.tags.append(kwargs.get("tags"))


def test_judge_run_is_a_visible_tagged_run() -> None:
    recorder = TagRecorder()
    model = FakeMessagesListChatModel(responses=[reply("Rating: [[5]]")], callbacks=[recorder])
    JudgeCheck(model).evaluate(QUESTION, AIMessage("4"))
    assert recorder.tags == [["costrouter:judge"]]
