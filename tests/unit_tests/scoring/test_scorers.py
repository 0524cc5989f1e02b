"""The deterministic scorers and the scorer names: what counts as the same answer."""

from __future__ import annotations

import pytest

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.scoring import parse_scorer
from langchain_costrouter.scoring.answers import chosen_letter, final_number


def score(name: str, answer: str, reference: str | None) -> float:
    scorer = parse_scorer(name)
    assert scorer.score_answer is not None
    return scorer.score_answer(answer, reference)


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [("  Paris. ", "paris", 1.0), ("PARIS", "Paris", 1.0), ("Lyon", "Paris", 0.0)],
)
def test_exact_ignores_case_spacing_and_a_final_period(
    answer: str, reference: str, expected: float
) -> None:
    assert score("exact", answer, reference) == expected


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("So the total is 1,234.", "1234", 1.0),
        ("Step 1: 3 apples... #### 72", "72", 1.0),
        ("It is 0.5", ".5", 1.0),
        ("The answer is 71", "#### 72", 0.0),
        ("no number here", "72", 0.0),
    ],
)
def test_numeric_compares_the_final_number(answer: str, reference: str, expected: float) -> None:
    assert score("numeric", answer, reference) == expected


def test_final_number_prefers_the_gsm8k_mark() -> None:
    assert final_number("#### 12 and then 13") == 12.0
    assert final_number("-3 degrees") == -3.0


@pytest.mark.parametrize(
    ("answer", "letter"),
    [
        ("The answer is (C).", "C"),
        ("answer: b", "B"),
        ("D", "D"),
        ("B) because the others are wrong", "B"),
        ("I pick (A) over (B)... final: (B)", "B"),
        ("I think a cat", None),
    ],
)
def test_choice_finds_the_letter(answer: str, letter: str | None) -> None:
    assert chosen_letter(answer) == letter


def test_choice_scores_against_the_reference_letter() -> None:
    assert score("choice", "The answer is (C).", "C") == 1.0
    assert score("choice", "The answer is (C).", "(B) 42") == 0.0


def test_regex_matches_or_compares_its_group_with_the_reference() -> None:
    assert score(r"regex:^\d{3}$", "123", None) == 1.0
    assert score(r"regex:^\d{3}$", "1234", None) == 0.0
    assert score(r"regex:label: (\w+)", "label: spam", "SPAM") == 1.0
    assert score(r"regex:label: (\w+)", "label: ham", "spam") == 0.0


def test_json_compares_parsed_values_and_strips_fences() -> None:
    assert score("json", '```json\n{"b": 2, "a": 1}\n```', '{"a": 1, "b": 2}') == 1.0
    assert score("json", '{"a": 1}', '{"a": 2}') == 0.0
    assert score("json", "not json", '{"a": 1}') == 0.0


def test_judge_scorer_names_its_model() -> None:
    scorer = parse_scorer("judge:gpt-4o-mini")
    assert (scorer.judge_model, scorer.score_answer, scorer.needs_reference) == (
        "gpt-4o-mini",
        None,
        False,
    )


@pytest.mark.parametrize("name", ["exacts", "judge:", "regex:", "regex:(", "bleu"])
def test_a_bad_scorer_name_says_what_is_valid(name: str) -> None:
    with pytest.raises(ConfigError, match=r"expected one of|not a valid regular expression"):
        parse_scorer(name)


def test_reference_checks_say_what_the_scorer_needs() -> None:
    assert "needs a 'reference'" in (parse_scorer("numeric").check_reference(None) or "")
    assert "JSON 'reference'" in (parse_scorer("json").check_reference("{oops") or "")
    assert parse_scorer("judge:m").check_reference(None) is None
