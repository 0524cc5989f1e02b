"""ReplayChatModel answers recorded prompts with recorded text, usage and cost."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_costrouter.logprobs import LogprobSummary, message_logprobs
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.replay import (
    RECORD_KWARG,
    AmbiguousPromptError,
    ReplayChatModel,
    UnrecordedPromptError,
)

RECORDS = [
    OutcomeRecord(
        id="q1",
        task="math",
        messages=({"role": "user", "content": "What is 2+2?"},),
        outcomes={
            "big": ModelOutcome(1.0, "4", cost_usd=0.01, input_tokens=7, output_tokens=1),
            "small": ModelOutcome(
                0.0, "five, I think", cost_usd=None, logprobs=LogprobSummary(-0.9, -2.3, 4)
            ),
        },
    ),
    OutcomeRecord(
        id="q2",
        task="chat",
        messages=(
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": "Tell me a joke"},
        ),
        outcomes={"big": ModelOutcome(0.8, "knock knock"), "small": ModelOutcome(0.3, "no")},
    ),
]


def test_invoke_returns_recorded_text_usage_and_cost() -> None:
    model = ReplayChatModel(records=RECORDS, model_name="big")
    answer = model.invoke("What is 2+2?")
    assert answer.content == "4"
    assert answer.usage_metadata == {"input_tokens": 7, "output_tokens": 1, "total_tokens": 8}
    assert answer.response_metadata["recorded_cost_usd"] == 0.01
    assert answer.response_metadata["recorded_score"] == 1.0
    assert answer.response_metadata["model_name"] == "big"
    assert answer.response_metadata["record_id"] == "q1"


def test_missing_tokens_are_estimated_and_cost_is_none() -> None:
    answer = ReplayChatModel(records=RECORDS, model_name="small").invoke("What is 2+2?")
    assert answer.content == "five, I think"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 4
    assert answer.usage_metadata["input_tokens"] > 5
    assert answer.response_metadata["recorded_cost_usd"] is None


def test_multi_message_prompt_is_matched_by_contents() -> None:
    model = ReplayChatModel(records=RECORDS, model_name="big")
    answer = model.invoke([HumanMessage("Hi"), HumanMessage("Tell me a joke")])
    assert answer.content == "knock knock"


def test_unrecorded_prompt_is_a_clear_error() -> None:
    model = ReplayChatModel(records=RECORDS, model_name="big")
    with pytest.raises(UnrecordedPromptError, match=r"no recorded answer .* 'What is 3\+3\?'"):
        model.invoke("What is 3+3?")


def test_unknown_model_fails_at_construction() -> None:
    with pytest.raises(KeyError, match="recorded models: big, small"):
        ReplayChatModel(records=RECORDS, model_name="medium")


def test_stream_yields_one_chunk_with_usage() -> None:
    chunks = list(ReplayChatModel(records=RECORDS, model_name="big").stream("What is 2+2?"))
    assert len(chunks) == 1
    assert isinstance(chunks[0], AIMessageChunk)
    assert chunks[0].content == "4"
    assert chunks[0].usage_metadata is not None
    assert chunks[0].usage_metadata["total_tokens"] == 8


async def test_async_paths_match_sync() -> None:
    model = ReplayChatModel(records=RECORDS, model_name="small")
    answer = await model.ainvoke("What is 2+2?")
    chunks = [chunk async for chunk in model.astream("What is 2+2?")]
    assert answer.content == "five, I think"
    assert [chunk.content for chunk in chunks] == ["five, I think"]


def test_identifying_params_are_stable_and_distinguish_models() -> None:
    big = ReplayChatModel(records=RECORDS, model_name="big")
    again = ReplayChatModel(records=list(RECORDS), model_name="big")
    small = ReplayChatModel(records=RECORDS, model_name="small")
    assert big._identifying_params == again._identifying_params
    assert big._identifying_params != small._identifying_params
    assert big._llm_type == "costrouter-replay"


def test_a_recorded_logprob_summary_is_replayed_and_an_absent_one_stays_absent() -> None:
    small = ReplayChatModel(records=RECORDS, model_name="small").invoke("What is 2+2?")
    assert message_logprobs(small) == LogprobSummary(-0.9, -2.3, 4)
    big = ReplayChatModel(records=RECORDS, model_name="big").invoke("What is 2+2?")
    assert "logprob_summary" not in big.response_metadata
    assert message_logprobs(big) is None


def _asked_twice() -> list[OutcomeRecord]:
    """Two records of one prompt: "big" answered, scored and cost differently each time."""
    prompt = ({"role": "user", "content": "Summarise the ticket"},)
    small = ModelOutcome(0.5, "same", cost_usd=0.001)
    return [
        OutcomeRecord(
            "t1", "chat", prompt, {"big": ModelOutcome(1.0, "first", 0.25), "small": small}
        ),
        OutcomeRecord(
            "t2", "chat", prompt, {"big": ModelOutcome(0.0, "second", 4.0), "small": small}
        ),
    ]


def test_a_named_record_is_answered_with_its_own_outcome() -> None:
    big = ReplayChatModel(records=_asked_twice(), model_name="big")
    for record_id, text, cost, score in (("t1", "first", 0.25, 1.0), ("t2", "second", 4.0, 0.0)):
        for answer in (
            big.invoke("Summarise the ticket", **{RECORD_KWARG: record_id}),
            next(iter(big.stream("Summarise the ticket", **{RECORD_KWARG: record_id}))),
        ):
            assert answer.content == text
            metadata = answer.response_metadata
            assert (metadata["record_id"], metadata["recorded_cost_usd"]) == (record_id, cost)
            assert metadata["recorded_score"] == score


def test_a_repeated_prompt_without_a_record_is_refused_when_its_answers_differ() -> None:
    records = _asked_twice()
    with pytest.raises(AmbiguousPromptError, match=RECORD_KWARG):
        ReplayChatModel(records=records, model_name="big").invoke("Summarise the ticket")
    # Where every record of the prompt holds the same outcome, there is nothing to guess.
    assert (
        ReplayChatModel(records=records, model_name="small").invoke("Summarise the ticket").content
        == "same"
    )


def test_a_named_record_must_hold_the_prompt_asked() -> None:
    big = ReplayChatModel(records=RECORDS, model_name="big")
    with pytest.raises(UnrecordedPromptError, match="no record 'q2'"):
        big.invoke("What is 2+2?", **{RECORD_KWARG: "q2"})
    with pytest.raises(UnrecordedPromptError, match="no record 'q404'"):
        big.invoke("What is 2+2?", **{RECORD_KWARG: "q404"})


def test_a_repeated_record_id_is_refused() -> None:
    with pytest.raises(ValueError, match="'q1' appears twice"):
        ReplayChatModel(records=[RECORDS[0], RECORDS[0]], model_name="big")
