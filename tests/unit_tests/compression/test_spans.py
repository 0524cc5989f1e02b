"""Protected-span detection: each kind of exact content is found, prose is not."""

from __future__ import annotations

import time

import pytest

from langchain_costrouter.compression.spans import Span, find_protected_spans, merge_spans


def _protected(text: str, **kwargs: object) -> list[str]:
    return [text[s.start : s.end] for s in find_protected_spans(text, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Intro.\n```py\nx = 1\n```\nOutro.", "```py\nx = 1\n```"),
        ("Intro.\n~~~\nunclosed fence", "~~~\nunclosed fence"),
        ("Intro.\n\n    x = 1\n    y = 2\nOutro.", "    x = 1\n    y = 2"),
        ("Use `get_weather(city)` now.", "`get_weather(city)`"),
        ('Schema: {"type": "object", "properties": {"a": {"type": "string"}}} ok', None),
        ('List: [1, 2, {"a": null}] ok', '[1, 2, {"a": null}]'),
        ("Call {name: 'x', retries: 3} here", "{name: 'x', retries: 3}"),
        (
            "Tools:\nget_order(order_id: str) -> Order\nThen answer.",
            "get_order(order_id: str) -> Order",
        ),
        ("def f(a):\n    return a\n\nProse after.", "def f(a):\n    return a"),
        ("<example>Hi -> Hello</example> then prose", "<example>Hi -> Hello</example>"),
        ("See https://ex.com/a?b=1. Then go.", "https://ex.com/a?b=1"),
        ("Mail help@north-wind.com today.", "help@north-wind.com"),
    ],
)
def test_each_kind_is_protected(text: str, expected: str | None) -> None:
    wanted = expected or text[text.index("{") : text.rindex("}") + 1]
    assert wanted in _protected(text)


def test_plain_prose_has_no_spans() -> None:
    text = "Be brief. Answer in the customer's language (French or German), politely [sic]."
    assert _protected(text) == []


def test_prose_indented_after_a_line_is_not_code() -> None:
    assert _protected("A list:\n    continued line of prose") == []


def test_user_patterns_and_identifiers() -> None:
    text = "Ticket ABC-1234 must call lookup_order, not lookup_order_v2."
    found = _protected(text, patterns=[r"[A-Z]{3}-\d{4}"], identifiers=["lookup_order"])
    assert found == ["ABC-1234", "lookup_order"]


def test_few_shot_pairs_are_protected_and_the_instruction_is_not() -> None:
    text = "Classify the news.\n\nQ: Gold up 2%\nA: up\n\nQ: Gold flat\nA: neutral\n"
    assert _protected(text) == ["Q: Gold up 2%\nA: up\n\nQ: Gold flat\nA: neutral"]


def test_example_header_takes_the_next_paragraph() -> None:
    text = "Rules here.\n\nExample:\n\nThe user says hi and you say hello.\n\nMore rules."
    assert _protected(text) == ["Example:\n\nThe user says hi and you say hello."]


def test_examples_heading_covers_its_section() -> None:
    text = "# Rules\nBe kind.\n\n## Examples\nHi there.\n\nBye now.\n\n## Style\nShort."
    assert _protected(text) == ["## Examples\nHi there.\n\nBye now."]


def test_a_single_label_is_not_an_example_block() -> None:
    assert _protected("Context: you work for a shop.\n\nBe kind.") == []


def test_merge_joins_overlaps_only() -> None:
    spans = [Span(5, 9, "b"), Span(0, 6, "a"), Span(9, 12, "c"), Span(3, 3, "empty")]
    assert merge_spans(spans) == [Span(0, 9, "a"), Span(9, 12, "c")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Docs: https://en.wikipedia.org/wiki/Python_(programming_language) for details.",
            ["https://en.wikipedia.org/wiki/Python_(programming_language)"],
        ),
        ("Query https://x.org/q?f=(a,b)&g=1, then go.", ["https://x.org/q?f=(a,b)&g=1"]),
        ("Nested https://x.org/a_(b_(c)) here.", ["https://x.org/a_(b_(c))"]),
        (
            "(see https://x.org/a) and (docs: https://x.org/w/A_(b))",
            ["https://x.org/a", "https://x.org/w/A_(b)"],
        ),
        (
            "Unbalanced https://x.org/a(b stays short; https://x.org/w/A_(b) does not.",
            ["https://x.org/a", "https://x.org/w/A_(b)"],
        ),
    ],
)
def test_url_keeps_balanced_parentheses_but_not_the_prose_ones(
    text: str, expected: list[str]
) -> None:
    assert _protected(text) == expected


@pytest.mark.parametrize("mark", [".", ",", ";", ":", "!", "?"])
def test_url_ending_in_parentheses_leaves_out_sentence_punctuation(mark: str) -> None:
    text = f"Read https://x.org/w/A_(b){mark} Then https://x.org/c{mark}"
    assert _protected(text) == ["https://x.org/w/A_(b)", "https://x.org/c"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'Then reply exactly "Please hold while I check." and stop.',
            ['"Please hold while I check."'],
        ),
        ("Translate 'I would like you to stop' into French.", ["'I would like you to stop'"]),
        ("Never answer \u201cI think so\u201d to a claim.", ["\u201cI think so\u201d"]),
        ("Say \u2018we\u2019ll see\u2019 then.", ["\u2018we\u2019ll see\u2019"]),
        (
            "Write \u00abnein danke\u00bb or \u201eja bitte\u201c.",
            ["\u00abnein danke\u00bb", "\u201eja bitte\u201c"],
        ),
        ("Don't tag the customers' orders 'VIP' ever.", ["'VIP'"]),
    ],
)
def test_quoted_text_is_protected(text: str, expected: list[str]) -> None:
    """A quotation is said word for word: a reply to give, a phrase to translate, a
    phrase to avoid. Rewritten ("Please hold" to "Hold"), it says something else."""
    assert _protected(text) == expected


def test_apostrophes_are_not_quotes() -> None:
    assert _protected("Don't use the users' names; it's the '90s style.") == []


@pytest.mark.parametrize("opener", ["[", "[ ", "[1, "], ids=["arrays", "spaced", "numbers"])
def test_brackets_nested_deeper_than_json_can_parse_are_prose_not_a_crash(opener: str) -> None:
    """json's decoder recurses per level and raised RecursionError from about 1,000
    levels: a pasted "[[[[..." crashed the compressor, and the routed call with it."""
    text = "Please read this. " + opener * 3000 + " Thanks."
    assert _protected(text) == []


def test_unbalanced_braces_take_linear_time() -> None:
    """Each unclosed brace was matched by scanning to the text's end: 24 KB of "x { y "
    took 13.6 s and 96 KB 193 s, in the current turn a user types."""
    started = time.perf_counter()
    assert _protected("x { y " * 16_000 + "{a}") == ["{a}"]
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("opener", ["\u2018", "\u201c", "\u201e", "\u00ab"])
def test_unclosed_typographic_quotes_take_linear_time(opener: str) -> None:
    """Each opening quote with no closing one on its line was scanned to the line's end:
    96 KB of 'x \u2018y ' on one line took 7 s."""
    started = time.perf_counter()
    assert _protected(f"x {opener}y " * 16_000) == []
    assert time.perf_counter() - started < 2
