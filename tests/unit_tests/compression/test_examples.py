"""Few-shot example blocks are found wherever a line starts, and prose around them is not."""

from __future__ import annotations

import time

import pytest

from langchain_costrouter.compression import PromptCompressor
from langchain_costrouter.compression.spans import find_protected_spans

FILLER = (
    "Please note that it is really very important that you basically always make sure "
    "to consider every aspect of the request below. "
) * 6


def _protected(text: str) -> list[str]:
    return [text[s.start : s.end] for s in find_protected_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Classify the sentiment.\nExample:\nInput: it is good\nOutput: positive\n\nBe brief.",
            ["Example:\nInput: it is good\nOutput: positive"],
            id="bare-header-inside-a-paragraph",
        ),
        pytest.param(
            "Label each review.\nExamples:\nInput: great\nOutput: positive\n"
            "Input: awful\nOutput: negative\n\nNow label the review.",
            ["Examples:\nInput: great\nOutput: positive\nInput: awful\nOutput: negative"],
            id="examples-header-then-input-output-lines",
        ),
        pytest.param(
            "Answer tersely.\nExamples:\n\nQ: 2+2?\nA: 4\n\nQ: 3+3?\nA: 6\n\nThen stop.",
            ["Examples:\n\nQ: 2+2?\nA: 4\n\nQ: 3+3?\nA: 6"],
            id="header-ending-a-paragraph-then-q-a-paragraphs",
        ),
        pytest.param(
            "Rules here.\nExample 1: hi -> hello\nExample 2: bye -> goodbye\n\nMore rules.",
            ["Example 1: hi -> hello", "Example 2: bye -> goodbye"],
            id="numbered-headers-in-the-middle-of-a-paragraph",
        ),
        pytest.param(
            "Rules here.\n- **Example #3:** refund -> billing\n\nMore rules.",
            ["- **Example #3:** refund -> billing"],
            id="bulleted-bold-header",
        ),
        pytest.param(
            "Here is one.\nExample:\n\nThe user says hi and you say hello.\n\nMore rules.",
            ["Example:\n\nThe user says hi and you say hello."],
            id="bare-header-at-a-paragraph-end-owns-the-next-paragraph",
        ),
    ],
)
def test_example_headers_are_found_at_the_start_of_any_line(text: str, expected: list[str]) -> None:
    assert _protected(text) == expected


def test_dialogue_lines_inside_a_paragraph_are_an_example_block() -> None:
    text = "Answer tersely.\nQ: 2+2?\nA: 4\nQ: 3+3?\nA: 6"
    assert _protected(text) == ["Q: 2+2?\nA: 4\nQ: 3+3?\nA: 6"]


def test_prose_that_only_mentions_examples_stays_compressible() -> None:
    """A mid-sentence "for example:" and a lone label line are prose; the real block is not
    (the quoted reply is kept as a quotation, not as an example block)."""
    text = (
        "Use a friendly tone, for example: 'Thanks!'\n"
        "Reply in this format.\nAnswer: <text>\n\n"
        "Some cases.\nExample:\nUser: hi\nAssistant: hello"
    )
    assert _protected(text) == ["'Thanks!'", "Example:\nUser: hi\nAssistant: hello"]


def test_an_example_after_an_instruction_line_survives_compression_byte_identical() -> None:
    example = "Example:\nInput: Please note that it is basically really very good\nOutput: positive"
    text = f"{FILLER}\n\nPlease note that you classify the sentiment.\n{example}\n\n{FILLER}"

    compressed = PromptCompressor(min_tokens=50).invoke(text)

    assert isinstance(compressed, str)
    assert f"You classify the sentiment.\n{example}" in compressed
    assert len(compressed) < len(text)


def test_a_long_run_of_one_label_is_prose_found_in_linear_time() -> None:
    """A run of lines with one label ("Q:" questions, a log of "User:" lines) is no
    example block, and each of its lines was tried as a block's start again, walking
    the rest of the run: 5,000 "Q:" lines took 10 s."""
    started = time.perf_counter()
    assert _protected("Answer these.\n" + "Q: what is it?\n" * 5_000) == []
    assert time.perf_counter() - started < 2
    run = "User: hi\nUser: again\nUser: hello\nAssistant: welcome"
    assert _protected(f"Be kind.\n\n{run}") == [run]
