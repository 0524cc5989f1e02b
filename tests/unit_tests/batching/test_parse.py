"""Parsing batch answers: forgiving about wrapping, strict about ids and values."""

from __future__ import annotations

from pydantic import BaseModel

from langchain_costrouter.batching.parse import parse_answer
from langchain_costrouter.batching.schema import LabelSchema, PydanticSchema, TextSchema

LABELS = LabelSchema(["spam", "ham"])
IDS = ["i0", "i1", "i2"]


def test_clean_answer_is_accepted_with_canonical_labels() -> None:
    verdict = parse_answer('{"i0": "spam", "i1": " HAM", "i2": "ham"}', IDS, LABELS)
    assert verdict.values == {"i0": "spam", "i1": "ham", "i2": "ham"}
    assert verdict.failures == {}


def test_markdown_fences_and_prose_are_stripped() -> None:
    fenced = 'Here you go:\n```json\n{"i0": "spam", "i1": "ham", "i2": "spam"}\n```\nDone.'
    assert parse_answer(fenced, IDS, LABELS).values == {"i0": "spam", "i1": "ham", "i2": "spam"}
    prose = 'Sure! {"i0": "spam", "i1": "ham", "i2": "spam"} Hope this helps.'
    assert len(parse_answer(prose, IDS, LABELS).values) == 3


def test_missing_duplicated_and_invalid_ids_fail_alone() -> None:
    verdict = parse_answer('{"i0": "spam", "i1": "ham", "i1": "spam"}', IDS, LABELS)
    assert verdict.values == {"i0": "spam"}
    assert "answered 2 times" in verdict.failures["i1"]
    assert "no answer" in verdict.failures["i2"]
    verdict = parse_answer('{"i0": "eggs", "i1": "ham", "i2": "spam"}', IDS, LABELS)
    assert "not one of the labels" in verdict.failures["i0"]
    assert set(verdict.values) == {"i1", "i2"}


def test_list_and_wrapped_shapes_are_understood() -> None:
    listed = (
        '[{"id": "i0", "label": "spam"}, {"id": "i1", "answer": "ham"}, {"id": "i2", "x": "ham"}]'
    )
    assert parse_answer(listed, IDS, LABELS).values == {"i0": "spam", "i1": "ham", "i2": "ham"}
    wrapped = '{"results": {"i0": "spam", "i1": "ham", "i2": "ham"}}'
    assert len(parse_answer(wrapped, IDS, LABELS).values) == 3
    twice = '[{"id": "i0", "label": "spam"}, {"id": "i0", "label": "spam"}]'
    assert "answered 2 times" in parse_answer(twice, ["i0"], LABELS).failures["i0"]


def test_invalid_json_fails_every_id() -> None:
    verdict = parse_answer('{"i0": "spam", "i1": ', IDS, LABELS)
    assert verdict.values == {}
    assert set(verdict.failures) == set(IDS)
    assert all("not valid JSON" in reason for reason in verdict.failures.values())
    assert set(parse_answer("42", IDS, LABELS).failures) == set(IDS)


def test_pydantic_values_are_validated_per_item() -> None:
    class Score(BaseModel):
        score: int

    answer = '{"i0": {"score": 3}, "i1": {"score": "high"}, "i2": {"score": 1, "score": 2}}'
    verdict = parse_answer(answer, IDS, PydanticSchema(Score))
    assert verdict.values["i0"] == Score(score=3)
    assert "does not match Score" in verdict.failures["i1"]
    # A repeated key inside one item's object is that item's business, not an id repeat.
    assert verdict.values["i2"] == Score(score=2)


def test_free_text_must_still_be_strings() -> None:
    verdict = parse_answer('{"i0": "a summary", "i1": 7, "i2": ""}', IDS, TextSchema())
    assert verdict.values == {"i0": "a summary", "i2": ""}
    assert "expected a string" in verdict.failures["i1"]


def test_an_id_never_asked_fails_the_whole_batch() -> None:
    """Asked i0-i2, answered i1-i3: the model numbered the items wrong, so every answer
    may sit under a neighbour's id; none is trusted, all are sent again."""
    shifted = '{"i0": "ham", "i1": "spam", "i2": "ham", "i3": "spam"}'
    verdict = parse_answer(shifted, IDS, LABELS)
    assert verdict.values == {}
    assert set(verdict.failures) == set(IDS)
    assert all("ids never asked (i3)" in reason for reason in verdict.failures.values())
    listed = '[{"id": "i0", "label": "ham"}, {"id": "i1", "label": "spam"}, {"id": "i7", "x": 1}]'
    assert parse_answer(listed, ["i0", "i1"], LABELS).values == {}


def test_keys_that_are_not_ids_and_extra_ids_around_a_lone_item_are_harmless() -> None:
    """A note beside the answers says nothing about numbering; a lone item's own id
    cannot hold a neighbour's answer (a model that obeys ids written inside the item
    answers them besides it)."""
    noted = '{"i0": "spam", "i1": "ham", "i2": "ham", "note": "done"}'
    assert parse_answer(noted, IDS, LABELS).values == {"i0": "spam", "i1": "ham", "i2": "ham"}
    assert parse_answer('{"i4": "spam", "i0": "ham"}', ["i4"], LABELS).values == {"i4": "spam"}


def test_an_item_echoed_back_is_no_answer() -> None:
    """The prompt sends each item as ``{"id", "item"}``: a model that echoes that array
    back answered nothing, though a free-text schema would take the item's own text for
    its answer. An answer beside the echoed item is still read."""
    echoed = '[{"id": "i0", "item": "Hello"}, {"id": "i1", "item": "Bye"}]'
    verdict = parse_answer(echoed, ["i0", "i1"], TextSchema())
    assert verdict.values == {}
    assert all("no answer" in reason for reason in verdict.failures.values())
    beside = '[{"id": "i0", "item": "Hello", "french": "Bonjour"}]'
    assert parse_answer(beside, ["i0"], TextSchema()).values == {"i0": "Bonjour"}
