# ruff: noqa: RUF001  (refusals in other scripts, typographic apostrophes: the point of the test)
from __future__ import annotations

import re

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.checks import LabelSet, LengthBounds, NonEmpty, NotRefusal, RegexMatch

QUESTION = [HumanMessage("Question?")]
TOOL_CALL = {"name": "search", "args": {"q": "x"}, "id": "call_1", "type": "tool_call"}


def score(check: object, text: str) -> float:
    return check.evaluate(QUESTION, AIMessage(text)).score  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_non_empty_fails_blank_text(text: str) -> None:
    assert score(NonEmpty(), text) == 0.0


def test_non_empty_passes_text_or_a_tool_call() -> None:
    assert score(NonEmpty(), "ok") == 1.0
    assert NonEmpty().evaluate(QUESTION, AIMessage("", tool_calls=[TOOL_CALL])).score == 1.0


def test_non_empty_reads_content_blocks() -> None:
    answer = AIMessage(content=[{"type": "text", "text": "Paris"}])
    assert NonEmpty().evaluate(QUESTION, answer).score == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "I can't help with that.",
        "I’m sorry, but I can’t assist with that request.",
        "I cannot provide instructions for that.",
        "As an AI language model, I do not have opinions.",
        "As a large language model, I have no access to the internet.",
        "I'm unable to comply with this request.",
        "I am not able to share that information.",
        "I won't be able to help you with this.",
        "I must respectfully decline.",
        "Unfortunately, that's not something I can do.",
        "I apologize, but I cannot fulfill this request.",
        "Je suis désolé, mais je ne peux pas vous aider avec cela.",
        "Lo siento, pero no puedo ayudarte con eso.",
        "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.",
        "Mi dispiace, ma non posso aiutarti.",
        "Desculpe, mas não posso ajudar com isso.",
        "Извините, но я не могу помочь с этим.",
        "抱歉，我无法提供这些信息。",
        "申し訳ありませんが、お手伝いできません。",
    ],
)
def test_not_refusal_catches_refusals(text: str) -> None:
    result = NotRefusal().evaluate(QUESTION, AIMessage(text))
    assert result.score == 0.0
    assert result.reason.startswith("refusal")


@pytest.mark.parametrize(
    "text",
    [
        "Yes",
        "The capital of France is Paris.",
        "I can't stress this enough: back up your data before upgrading.",
        "You cannot divide by zero, so the expression is undefined.",
        "No (it is disapproving)",
        "Here is the code:\n```python\nprint('I cannot')\n```",
    ],
)
def test_not_refusal_passes_answers(text: str) -> None:
    assert score(NotRefusal(), text) == 1.0


def test_not_refusal_ignores_a_caveat_past_the_opening_window() -> None:
    text = "Step one is to check the label. " * 20 + "I can't provide legal advice, though."
    assert score(NotRefusal(window=400), text) == 1.0
    assert score(NotRefusal(window=len(text)), text) == 0.0


def test_not_refusal_reads_provider_refusal_signals() -> None:
    refused = AIMessage("", additional_kwargs={"refusal": "I can't do that."})
    filtered = AIMessage("partial", response_metadata={"finish_reason": "content_filter"})
    assert NotRefusal().evaluate(QUESTION, refused).reason == "refusal: provider refusal field set"
    assert NotRefusal().evaluate(QUESTION, filtered).score == 0.0


def test_not_refusal_fails_empty_but_passes_a_tool_call() -> None:
    assert score(NotRefusal(), "") == 0.0
    assert NotRefusal().evaluate(QUESTION, AIMessage("", tool_calls=[TOOL_CALL])).score == 1.0


def test_length_bounds() -> None:
    check = LengthBounds(min_chars=3, max_chars=5)
    assert score(check, "  abcd  ") == 1.0
    assert check.evaluate(QUESTION, AIMessage("ab")).reason == "2 chars, fewer than 3"
    assert score(check, "abcdef") == 0.0
    assert score(LengthBounds(), "x" * 10_000) == 1.0


def test_length_bounds_rejects_inverted_bounds() -> None:
    with pytest.raises(ValueError, match="min_chars"):
        LengthBounds(min_chars=10, max_chars=2)


def test_regex_search_and_fullmatch() -> None:
    assert score(RegexMatch(r"\d{3}"), "code 123 here") == 1.0
    assert score(RegexMatch(r"\d{3}", fullmatch=True), "code 123 here") == 0.0
    assert score(RegexMatch(r"\d{3}", fullmatch=True), " 123\n") == 1.0
    assert score(RegexMatch(r"yes", flags=re.IGNORECASE), "YES") == 1.0
    assert score(RegexMatch(re.compile(r"^[A-D]$")), "E") == 0.0


@pytest.mark.parametrize("text", ["Yes", "yes", "**Yes.**", "Answer: No", " 'no' \n", "NO!"])
def test_label_set_accepts_decorated_labels(text: str) -> None:
    assert score(LabelSet(["Yes", "No"]), text) == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Maybe",
        "Cannot determine without more context.",  # gpt-3.5-turbo, FrugalGPT OVERRULING
        "ed and proven to be effective.",  # a small model's off-task completion, same set
        "No (it is disapproving)",
        "Yesterday",
    ],
)
def test_label_set_rejects_out_of_set_answers(text: str) -> None:
    result = LabelSet(["Yes", "No"]).evaluate(QUESTION, AIMessage(text))
    assert result.score == 0.0
    assert "is not one of ['Yes', 'No']" in result.reason


def test_label_set_with_explanation_reads_the_leading_label() -> None:
    check = LabelSet(["Yes", "No"], allow_explanation=True)
    assert check.extract("No (it is disapproving)") == "No"
    assert check.extract("Yes, because the court overruled it.") == "Yes"
    assert check.extract("Yesterday it was overruled") is None


def test_label_set_prefers_the_longest_label() -> None:
    check = LabelSet(["not", "not sure"], allow_explanation=True)
    assert check.extract("Not sure - the text is ambiguous") == "not sure"


def test_label_set_rejects_empty_labels() -> None:
    with pytest.raises(ValueError, match="non-empty labels"):
        LabelSet(["Yes", "**"])
