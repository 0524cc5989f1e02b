from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.checks import Agreement

QUESTION = [HumanMessage("How much does Janet make every day?")]
# Two real GSM8K answers (RouteLLM's recorded responses): same result, different words.
MIXTRAL = "She sells these 9 eggs at the farmers' market for 9 * $2 = $<<9*2=18>>18.\n#### 18"
GPT4 = "She sells each egg for $2, so she makes 9 * $2 = $18 every day at the farmers' market."


def agreement(check: Agreement, answer: str, previous: str) -> float:
    return check.evaluate(QUESTION, AIMessage(answer), previous=[AIMessage(previous)]).score


def test_number_mode_agrees_on_the_final_number() -> None:
    check = Agreement("number")
    assert agreement(check, GPT4, MIXTRAL) == 1.0
    assert agreement(check, "The total is 1,234.50", "#### 1234.5") == 1.0
    assert agreement(check, GPT4, "so she makes $16.") == 0.0


def test_number_mode_fails_an_answer_without_a_number() -> None:
    result = Agreement("number").evaluate(
        QUESTION, AIMessage("I am not sure."), previous=[AIMessage("18")]
    )
    assert result.score == 0.0
    assert result.reason == "answer gives no number"


def test_text_mode_compares_normalised_text() -> None:
    assert agreement(Agreement(), "Paris.", "**paris**") == 1.0
    assert agreement(Agreement(), "Paris", "Lyon") == 0.0


def test_label_mode_reads_labels_with_explanations() -> None:
    check = Agreement("label", labels=["Yes", "No"])
    assert agreement(check, "No (it is disapproving)", "no.") == 1.0
    assert agreement(check, "Yes", "No") == 0.0
    assert agreement(check, "Cannot determine without more context.", "Cannot determine") == 0.0


def test_only_the_previous_tier_counts() -> None:
    result = Agreement().evaluate(
        QUESTION, AIMessage("B"), previous=[AIMessage("B"), AIMessage("C")]
    )
    assert result.score == 0.0
    assert result.reason == "b differs from previous c"


def test_first_tier_is_unverified() -> None:
    assert Agreement().evaluate(QUESTION, AIMessage("B")).score == 0.0
    assert Agreement(when_alone=1.0).evaluate(QUESTION, AIMessage("B")).score == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "label"}, {"mode": "text", "labels": ["a"]}, {"mode": "vote"}, {"when_alone": 2.0}],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Agreement(**kwargs)  # type: ignore[arg-type]
