"""The judge's prompts and verdicts: both orders, ties, missing verdicts."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from langchain_costrouter.scoring.judge import (
    graded_prompt,
    graded_score,
    pairwise_prompts,
    pairwise_score,
    verdict,
)

QUESTION = [HumanMessage(content="What is 2 + 2?")]


def test_pairwise_prompts_show_the_candidate_first_then_second() -> None:
    prompts = pairwise_prompts(QUESTION, "four", "4")
    first = prompts.candidate_first[-1].text
    second = prompts.yardstick_first[-1].text
    assert first.index("four") < first.index("[Answer B]\n4")
    assert second.index("[Answer A]\n4") < second.index("four")
    assert "What is 2 + 2?" in first


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("[[A]]", "[[B]]", 1.0),  # the candidate wins in both orders
        ("[[C]]", "[[C]]", 1.0),  # ties count as at least as good
        ("[[A]]", "[[A]]", 0.5),  # position bias: each answer wins when shown first
        ("[[B]]", "[[A]]", 0.0),
        ("I think [[B]]... no, [[A]]", "[[B]]", 1.0),  # the last verdict counts
    ],
)
def test_pairwise_score(first: str, second: str, expected: float) -> None:
    assert pairwise_score(first, second) == expected


def test_a_missing_verdict_is_no_score() -> None:
    assert verdict("Both are fine.") is None
    assert pairwise_score("Both are fine.", "[[A]]") is None


def test_graded_prompt_and_score() -> None:
    text = graded_prompt(QUESTION, "five", "4")[-1].text
    assert "[Reference answer]\n4" in text and "[Candidate answer]\nfive" in text
    assert graded_score("Wrong. Rating: [[1]]") == 0.0
    assert graded_score("Rating: [[10]]") == 1.0
    assert graded_score("no rating") is None
