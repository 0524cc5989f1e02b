"""Placeholders, the keep marker and the byte check."""

from __future__ import annotations

from langchain_costrouter.compression.masking import (
    mask,
    names_problem,
    numbers_problem,
    placeholder_problem,
    spans_problem,
    strip_keep_markers,
    unmask,
)
from langchain_costrouter.compression.spans import Span


def test_keep_markers_are_removed_and_their_content_becomes_a_span() -> None:
    text, spans = strip_keep_markers("a <keep>B c</keep> d <keep>E</keep>")
    assert text == "a B c d E"
    assert [text[s.start : s.end] for s in spans] == ["B c", "E"]


def test_mask_and_unmask_round_trip() -> None:
    text = "say {x} and [1] now"
    masked = mask(text, [Span(4, 7, "braces"), Span(12, 15, "json")])
    assert masked.text == "say [[KEEP_1]] and [[KEEP_2]] now"
    assert unmask(masked.text, masked) == text


def test_placeholders_avoid_text_that_looks_like_them() -> None:
    masked = mask("literal [[KEEP_1]] here {x}", [Span(24, 27, "braces")])
    assert masked.placeholders == ("[[KEEPX_1]]",)


def test_placeholder_problems_are_named() -> None:
    masked = mask("{a} {b}", [Span(0, 3, "braces"), Span(4, 7, "braces")])
    assert placeholder_problem("[[KEEP_1]] [[KEEP_2]]", masked) is None
    assert "KEEP_2]] missing" in str(placeholder_problem("[[KEEP_1]]", masked))
    assert "repeated 2 times" in str(
        placeholder_problem("[[KEEP_1]] [[KEEP_1]] [[KEEP_2]]", masked)
    )
    assert "out of order" in str(placeholder_problem("[[KEEP_2]] [[KEEP_1]]", masked))


def test_spans_must_be_byte_identical_and_in_order() -> None:
    assert spans_problem("x {a} y {b}", ["{a}", "{b}"]) is None
    assert spans_problem("x {b} y {a}", ["{a}", "{b}"]) is not None
    assert spans_problem("x {a } y {b}", ["{a}", "{b}"]) is not None


def test_code_like_names_must_all_survive_and_none_appear() -> None:
    """In a chain (prompt | compressor | model.bind_tools(...)) the compressor is never
    told the tools, yet the prose names them: a snake_case or camelCase name lost ("call
    lookup order") or made up is a changed instruction. Repeats may go, as numbers' may."""
    original = "Call lookup_order with the order_id. Always call lookup_order first; set maxItems."
    assert names_problem(original, "Call lookup_order with order_id first; set maxItems.") is None
    lost = names_problem(original, "Call lookup order with the order id; set maxItems.")
    assert lost == "name lookup_order of the original is missing from the compressed text"
    made_up = names_problem(original, "Call lookup_order(order_id) then get_status; maxItems.")
    assert made_up == "name get_status in the compressed text is not in the original"
    assert names_problem("Plain words, Paris, NASA and e-mail.", "Words, NASA.") is None


def test_a_number_s_sign_is_part_of_it() -> None:
    """ "Store it below -18 °C" rewritten "below 18 °C" states another number."""
    original = "Store it below -18 °C, between 2-8 hours, at \u221240 in transit, or +3 above."
    assert (
        numbers_problem(original, "Keep below -18 °C, 2-8 hours; \u221240 in transit; +3.") is None
    )
    dropped = numbers_problem(original, "Keep below 18 °C, 2-8 hours; \u221240 in transit; +3.")
    assert dropped == "number -18 of the original is missing from the compressed text"
    assert numbers_problem("Between 2-8 hours.", "Between 2 and 8 hours.") is None
    assert numbers_problem("At \u221240.", "At -40.") is None  # the same minus, typed plainly
