"""The free strategy."""

from __future__ import annotations

import pytest

from langchain_costrouter.compression.deterministic import compress_deterministic


def test_whitespace_is_collapsed_but_indentation_and_outer_whitespace_kept() -> None:
    text = "\n  Be   brief.\t\tVery.  \n\n\n\n  - item   one\n"
    assert compress_deterministic(text) == "\n  Be brief. Very.\n\n  - item one\n"


def test_repeated_paragraphs_and_sentences_are_dropped() -> None:
    text = (
        "Always answer in the customer's language.\n\nShort.\n\nShort.\n\n"
        "Keep it brief. Always answer in the customer's language. Thanks."
    )
    assert compress_deterministic(text) == (
        "Always answer in the customer's language.\n\nShort.\n\nKeep it brief. Thanks."
    )


def test_boilerplate_is_removed_and_capitals_move() -> None:
    text = "Please note that refunds take 5 days. In order to help, please be kind."
    assert compress_deterministic(text) == "Refunds take 5 days. To help, be kind."


def test_placeholders_are_never_dropped_even_when_repeated_nearby() -> None:
    text = "Use the tool [[KEEP_1]] for orders.\n\nUse the tool [[KEEP_2]] for orders."
    assert compress_deterministic(text) == text


def test_output_is_stable() -> None:
    text = "Please note that you must be kind.   You must be kind to every customer."
    once = compress_deterministic(text)
    assert compress_deterministic(text) == once
    assert compress_deterministic(once) == once


def test_sentences_that_differ_in_a_leading_number_are_not_repeats() -> None:
    """Only a list marker ("- ", "2. ") is ignored when spotting a repeat, never a quantity."""
    text = (
        "30 days for refunds on shoes.\n60 days for refunds on shoes.\n"
        "- 2 items per customer in the sale.\n- 5 items per customer in the sale."
    )
    assert compress_deterministic(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Don't say please to the customer. Never write please in a reply.",
        "Tell them I want you to leave the store now.",
        "Always keep in mind that the store closes at 6.",
    ],
)
def test_a_filler_phrase_is_dropped_only_where_it_opens_a_sentence_or_clause(text: str) -> None:
    """Mid-sentence the phrase is a word the sentence is about ("say please") or part of
    its grammar: dropped, the rule read "Don't say to the customer"."""
    assert compress_deterministic(text) == text
    opening = "Please be kind. If asked, please note that we ship in 2 days.\n- please reply."
    assert compress_deterministic(opening) == "Be kind. If asked, we ship in 2 days.\n- reply."


@pytest.mark.parametrize(
    "text",
    [
        "Press the green button firmly. Wait ten seconds. Press the green button firmly.",
        "Steps:\n1. Press the green button firmly.\n2. Wait ten seconds.\n"
        "3. Press the green button firmly.\n4. Done.",
        "1. Press the green button firmly.\n\n2. Wait ten seconds.\n\n"
        "3. Press the green button firmly.",
    ],
    ids=["sentences", "numbered-list", "numbered-paragraphs"],
)
def test_a_step_repeated_in_a_sequence_is_kept(text: str) -> None:
    """Within a paragraph, or as a numbered item, a repeated sentence is a step done
    again, not a rule said twice: dropped, the button was pressed once (the list kept
    a bare "3.")."""
    assert compress_deterministic(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please note that x must be positive.", "x must be positive."),
        ("Please note that iPhone users pay more.", "iPhone users pay more."),
        ("Please note that eBay_id is kept.", "eBay_id is kept."),
        ("Please note that you must be kind.", "You must be kind."),
        ("Please note that a refund takes 5 days.", "A refund takes 5 days."),
    ],
)
def test_the_capital_moves_only_onto_a_plain_word(text: str, expected: str) -> None:
    """The capital of a dropped phrase moved onto whatever came next, renaming a variable
    ("x" to "X") or a name ("iPhone" to "IPhone")."""
    assert compress_deterministic(text) == expected


_SAID = "Ship within 2 days of receipt.\n\n"


@pytest.mark.parametrize(
    "wrapped",
    [
        "Please\n ship within 2 days of receipt.",
        "You must\nship within 2 days of receipt. Then wave.",
        "- Always\n  ship within 2 days of receipt.\n- Be kind.",
        "# Shipping\nFrom now on\nship within 2 days of receipt.",
    ],
    ids=["please", "then-a-sentence", "list-item", "after-a-heading"],
)
def test_a_wrapped_sentence_whose_second_line_was_said_before_is_kept(wrapped: str) -> None:
    """The rules read sentences line by line, so the second line of a wrapped sentence,
    said before as a sentence of its own, was dropped: "Please" alone was sent."""
    assert compress_deterministic(_SAID + wrapped) == _SAID + wrapped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_SAID + "Be kind. Ship within 2\ndays of receipt.\nThen wave.", "Be kind.\nThen wave."),
        (_SAID + "- Ship within\n  2 days of receipt.\n- Be kind.", "- Be kind."),
        (_SAID + "# Shipping\nShip within 2 days of receipt.", "# Shipping"),
    ],
    ids=["prose", "list-item", "after-a-heading"],
)
def test_a_whole_wrapped_sentence_said_before_is_dropped(text: str, expected: str) -> None:
    assert compress_deterministic(text) == _SAID + expected


def test_a_filler_word_at_a_soft_wrap_is_no_sentence_opening() -> None:
    """A wrapped line does not open a clause: "say\\nplease" lost the word it is about."""
    text = "Don't ever say\nplease to the customer.\n\nBe kind.\nplease note that x is 5."
    assert compress_deterministic(text) == (
        "Don't ever say\nplease to the customer.\n\nBe kind.\nx is 5."
    )


def test_a_step_repeated_in_its_paragraph_is_kept_though_said_before() -> None:
    """Said in an earlier paragraph too, both steps went ("Wait. Wait.")."""
    text = (
        "Press the green button firmly.\n\n"
        "Wait. Press the green button firmly. Wait. Press the green button firmly."
    )
    assert compress_deterministic(text) == text
