"""Output schemas: label matching, pydantic validation, free text, the short forms."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from langchain_costrouter.batching.schema import (
    LabelSchema,
    PydanticSchema,
    TextSchema,
    as_schema,
)


class Ticket(BaseModel):
    category: str
    urgent: bool


def test_label_matching_forgives_case_and_spacing_only() -> None:
    schema = LabelSchema(["Billing", "Tech support"])
    assert schema.validate("  billing ") == "Billing"
    assert schema.validate("TECH   SUPPORT") == "Tech support"
    with pytest.raises(ValueError, match="not one of the labels"):
        schema.validate("Billing issue")
    with pytest.raises(ValueError, match="expected a label string"):
        schema.validate(["Billing"])


def test_labels_that_collide_after_folding_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        LabelSchema(["Spam", "spam "])
    with pytest.raises(ValueError, match="non-empty"):
        LabelSchema([])


def test_pydantic_schema_validates_and_dumps_json() -> None:
    schema = PydanticSchema(Ticket)
    value = schema.validate({"category": "billing", "urgent": True})
    assert value == Ticket(category="billing", urgent=True)
    assert schema.dump(value) == {"category": "billing", "urgent": True}
    with pytest.raises(ValueError, match="does not match Ticket"):
        schema.validate({"category": "billing"})
    assert '"urgent"' in schema.describe()


def test_text_schema_takes_only_strings() -> None:
    assert TextSchema().validate("anything") == "anything"
    with pytest.raises(ValueError, match="expected a string"):
        TextSchema().validate(3)


def test_short_forms() -> None:
    assert isinstance(as_schema(None), TextSchema)
    assert isinstance(as_schema(Ticket), PydanticSchema)
    assert isinstance(as_schema(["a", "b"]), LabelSchema)
    custom = TextSchema()
    assert as_schema(custom) is custom
    with pytest.raises(TypeError, match="list of strings"):
        as_schema("ab")


def test_fingerprints_differ_when_accepted_answers_differ() -> None:
    prints = {
        LabelSchema(["a", "b"]).fingerprint,
        LabelSchema(["b", "a"]).fingerprint,
        PydanticSchema(Ticket).fingerprint,
        TextSchema().fingerprint,
    }
    assert len(prints) == 4
