"""Placeholders, the keep marker and the byte check."""

from __future__ import annotations

import time

import pytest

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
    lookup order") or made up is a changed instruction. A sentence said before may go
    with its names, as with numbers."""
    original = (
        "Call lookup_order with the order_id. Set maxItems.\n\nCall lookup_order with the order_id."
    )
    assert names_problem(original, "Call lookup_order(order_id); set maxItems.") is None
    lost = names_problem(original, "Call lookup order with the order id; set maxItems.")
    assert lost == "name lookup_order of the original is missing from the compressed text"
    made_up = names_problem(original, "Call lookup_order(order_id) then get_status; maxItems.")
    assert made_up == "name get_status in the compressed text is not in the original"
    assert names_problem("Plain words, Paris, NASA and e-mail.", "Words, NASA.") is None


def test_names_swapped_between_their_roles_are_refused() -> None:
    """A set of names cannot tell "copy source_path to target_path" from its reverse,
    which overwrites the file the user meant to keep."""
    original = "Copy the file at source_path to target_path, then call notify_user."
    swapped = names_problem(original, "Copy target_path to source_path; call notify_user.")
    assert swapped == (
        "the compressed text states name source_path after target_path, out of the original's order"
    )
    assert names_problem(original, "Copy source_path to target_path; call notify_user.") is None


def test_a_name_s_mention_dropped_outside_a_repeated_sentence_is_refused() -> None:
    """ "Never call delete_user" is a rule of its own, though "delete_user" is named before."""
    original = "Call delete_user when an admin asks. Never call delete_user for a guest."
    dropped = names_problem(original, "Call delete_user when an admin asks; never for a guest.")
    assert dropped == (
        "name delete_user is stated 2 times in the original and 1 time in the compressed text; "
        "only a repeated sentence's names may go"
    )
    added = names_problem("Call get_user.", "Call get_user, then get_user again.")
    assert (
        added == "name get_user is stated 2 times in the compressed text and 1 time in the original"
    )


@pytest.mark.parametrize(
    ("original", "rewrite"),
    [
        (
            "Always call lookup_order first. Be kind.\n\nAlways call lookup_order first.",
            "Always call lookup_order first. Be kind.",
        ),
        (
            "Please note that order_id is always required. Use get_user.\n\n"
            "- order_id is always required.",
            "order_id is always required. Use get_user.",
        ),
        (
            "1. Call get_user before replying.\n2. Call get_cart.\n\n"
            "* Call get_user before replying.",
            "1. get_user\n2. get_cart",
        ),
    ],
    ids=["said-in-another-paragraph", "said-without-filler", "list"],
)
def test_a_rewrite_that_drops_only_a_repeated_sentence_s_names_is_accepted(
    original: str, rewrite: str
) -> None:
    assert names_problem(original, rewrite) is None


def test_a_refusal_names_the_item_lost_not_one_whose_repeat_alone_went() -> None:
    """The second "Pay in 5 days." may go; the second 7 is a rule of its own."""
    original = "Pay in 5 days. Ship in 7 days.\n\nPay in 5 days. Never ship in 7 days by sea."
    assert numbers_problem(original, "Pay in 5 days. Ship in 7 days, not by sea.") == (
        "number 7 is stated 2 times in the original and 1 time in the compressed text; "
        "only a repeated sentence's numbers may go"
    )


def test_a_sentence_said_again_with_a_name_in_another_case_is_no_repeat() -> None:
    """The free rules tell a repeat by its lowercased words, but "MaxItems" is another
    field than "maxItems": that sentence is a rule of its own."""
    original = "Set maxItems to 5. Be kind.\n\nSet MaxItems to 5."
    assert names_problem(original, "Set maxItems to 5. Be kind.") == (
        "name MaxItems of the original is missing from the compressed text"
    )


def test_a_numbered_step_naming_a_tool_again_is_no_repeat() -> None:
    """As with numbers, a numbered item said before is a step done again."""
    original = "1. Call refresh_token.\n2. Call get_user.\n3. Call refresh_token."
    assert names_problem(original, "Call refresh_token, then get_user.") is not None
    assert names_problem(original, "refresh_token, get_user, refresh_token.") is None


@pytest.mark.parametrize(
    "text",
    ["1. get_user. 2. Mix.\nx.y_z", "Done. a.b_c.d then e_f.\n_g_h and __init__", "Last.\nfooBar."],
)
def test_a_text_left_as_it_is_passes_the_names_check(text: str) -> None:
    assert names_problem(text, text) is None


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


def test_figures_swapped_between_their_words_are_refused() -> None:
    """A set of figures cannot tell "revenue 5, cost 7" from "revenue 7, cost 5"."""
    original = "Revenue was 5 million dollars. Cost was 7 million dollars."
    swapped = numbers_problem(original, "Revenue: 7 million dollars; cost: 5 million dollars.")
    assert swapped == ("the compressed text states number 5 after 7, out of the original's order")
    assert numbers_problem(original, "Revenue 5 million dollars, cost 7 million.") is None


def test_a_repeated_figure_dropped_from_a_sentence_of_its_own_is_refused() -> None:
    """ "Exchanges within 30 days" is a rule of its own, though "30" is said before."""
    original = "Refunds within 30 days of delivery. Exchanges within 30 days of delivery."
    dropped = numbers_problem(original, "Refunds within 30 days of delivery; exchanges allowed.")
    assert dropped == (
        "number 30 is stated 2 times in the original and 1 time in the compressed text; "
        "only a repeated sentence's numbers may go"
    )
    added = numbers_problem("Pay 30 euros.", "Pay 30 euros within 30 days.")
    assert added == "number 30 is stated 2 times in the compressed text and 1 time in the original"


@pytest.mark.parametrize(
    ("original", "rewrite"),
    [
        (
            "Return within 30 days; refunds in 5.\n\n" * 4,
            "Returns: 30 days; refunds: 5.",
        ),
        (
            "Refund within 30 days. Ship above 120 euros.\n\nRefund within 30 days.",
            "Refund within 30 days; free shipping above 120 euros.",
        ),
        (
            "Please note that refunds take 5 days.\n\n- Refunds take 5 days. Ships in 2.",
            "Refunds: 5 days. Ships in 2.",
        ),
        (
            "- Mix 2 eggs well.\n- Bake 40 minutes.\n\n* Mix 2 eggs well.",
            "- Mix 2 eggs well.\n- Bake 40 min.",
        ),
    ],
    ids=["said-over-in-paragraphs", "said-in-another-paragraph", "said-without-filler", "list"],
)
def test_a_rewrite_that_drops_only_a_repeated_sentence_s_figures_is_accepted(
    original: str, rewrite: str
) -> None:
    assert numbers_problem(original, rewrite) is None


def test_a_numbered_step_done_again_is_no_repeat() -> None:
    """As the free rules keep it (compression/deterministic.py), a numbered item said
    before is a step done again, so its figures may not go."""
    original = "1. Stir for 2 minutes.\n2. Add the eggs.\n3. Stir for 2 minutes."
    assert numbers_problem(original, "Stir for 2 minutes, add the eggs.") is not None
    assert numbers_problem(original, "Stir 2 min, add eggs, stir 2 min.") is None


def test_the_numbers_check_takes_linear_time_on_many_repeats() -> None:
    """Which repeats a rewrite dropped is searched over every way to drop them: on
    text a user types, that must not take quadratic time."""
    original = "Wait 5 minutes now.\n\n" + "Be kind. Wait 5 minutes now.\n\n" * 20_000
    started = time.perf_counter()
    assert numbers_problem(original, "Wait 5 minutes. " * 5_000) is None
    assert numbers_problem(original, "Wait 5 minutes. " * 5_000 + "Then 6.") is not None
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "text",
    ["1. 2. Mix.\n3.", "Done. 3) Mix 4.\n-2 and 1.5 and \u22125, 2-8", "Last.\n7.", "7.\n"],
)
def test_a_text_left_as_it_is_passes_the_numbers_check(text: str) -> None:
    """The check reads a sentence's numbers as it reads the whole text's, list
    numbering included, or an unchanged line would count as changed."""
    assert numbers_problem(text, text) is None


_STEPS = "1. Call lookup_order with the order id.\n2. Wait 10 seconds, then call refund_order."


@pytest.mark.parametrize(
    ("original", "rewrite"),
    [
        (f"Steps:\n\n{_STEPS}\n\nBe kind.\n\n{_STEPS}", f"Steps:\n\n{_STEPS}\n\nBe kind."),
        (
            "Refunds reach the card within 5 days\nof receipt by lookup_order.\n\nBe kind.\n\n"
            "Refunds reach the card within 5 days of receipt by lookup_order.",
            "Refunds reach the card within 5 days\nof receipt by lookup_order.\n\nBe kind.",
        ),
        (
            "Please  note that refunds take 5 days in get_refund.\n\n"
            "Be kind. Refunds take 5 days in get_refund.",
            "Refunds take 5 days in get_refund.\n\nBe kind.",
        ),
    ],
    ids=["numbered-list-said-again-whole", "wrapped-once-not-twice", "filler-spaced-wide"],
)
def test_a_paragraph_the_free_rules_drop_as_said_before_may_go(original: str, rewrite: str) -> None:
    """The free rules drop a paragraph said before whatever its wrapping, a numbered
    list too (compression/deterministic.py): its numbers and names go with it."""
    assert numbers_problem(original, rewrite) is None
    assert names_problem(original, rewrite) is None


def test_a_step_of_a_list_said_again_may_go_only_with_the_whole_list() -> None:
    """A list said again word for word may go whole; cut short, or said again with
    another step, it is another procedure, whose steps are done again."""
    original = f"{_STEPS}\n\nBe kind.\n\n{_STEPS}"
    cut = f"{_STEPS}\n\nBe kind.\n\n1. Call lookup_order with the order id."
    assert names_problem(original, cut) == (
        "name refund_order is stated 2 times in the original and 1 time in the compressed text; "
        "only a repeated sentence's names may go"
    )
    other = f"{_STEPS}\n\nBe kind.\n\n{_STEPS}\n3. Close the ticket."
    assert names_problem(other, f"{_STEPS}\n\nBe kind.\n\n3. Close the ticket.") is not None
    assert numbers_problem(other, f"{_STEPS}\n\nBe kind.\n\n3. Close the ticket.") is not None


_SAID = "Ship within 2 days of receipt.\n\n"


@pytest.mark.parametrize(
    ("wrapped", "cut"),
    [
        ("Please\n ship within 2 days of receipt.", "Please"),
        ("You must\nship within 2 days of receipt. Then wave.", "You must\nThen wave."),
        ("- Always\n  ship within 2 days of receipt.\n- Be kind.", "- Always\n- Be kind."),
    ],
    ids=["please", "then-a-sentence", "list-item"],
)
def test_a_wrapped_sentence_cut_at_its_soft_wrap_is_refused(wrapped: str, cut: str) -> None:
    """The checks read sentences line by line, as the rules did: the second line of a
    wrapped sentence, said before on its own, was a repeat they let go with its figures."""
    assert numbers_problem(_SAID + wrapped, _SAID + cut) == (
        "number 2 is stated 2 times in the original and 1 time in the compressed text; "
        "only a repeated sentence's numbers may go"
    )
    whole = _SAID + "Be kind. Ship within 2\ndays of receipt."
    assert numbers_problem(whole, _SAID + "Be kind.") is None  # a whole sentence may go


@pytest.mark.parametrize(
    "original",
    [
        "Stir for 2 minutes now.\n\nStir for 2 minutes now. Add eggs. Stir for 2 minutes now.",
        "Stir 2 minutes.\n\nAdd the eggs. Stir 2 minutes.",
    ],
    ids=["said-twice-in-its-paragraph", "under-four-words"],
)
def test_a_step_the_rules_keep_as_done_again_may_not_go(original: str) -> None:
    """The rules drop a sentence said in an earlier paragraph only if it has four words
    or more and is said once in its own (compression/deterministic.py); the check let a
    rewrite drop any sentence said anywhere before, a step done again included."""
    first, _, last = original.partition("\n\n")
    rewrite = first + "\n\n" + last.rsplit(". ", 1)[0] + "."
    assert numbers_problem(original, rewrite) is not None
    assert numbers_problem(original, original) is None
