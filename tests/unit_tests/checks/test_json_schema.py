from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from langchain_costrouter.checks import SchemaValidator
from langchain_costrouter.errors import ConfigError


class Item(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d+$")
    quantity: int = Field(ge=1, le=100)


class Order(BaseModel):
    items: list[Item] = Field(min_length=1)
    priority: Literal["low", "high"] = "low"
    note: str | None = None


ORDER = SchemaValidator(Order.model_json_schema())
GOOD = {"items": [{"sku": "ABC-1", "quantity": 2}], "priority": "high", "note": None}

BAD_ORDERS = [
    ({"items": []}, "minItems"),
    ({"priority": "low"}, "missing required ['items']"),
    ({"items": [{"sku": "abc", "quantity": 2}]}, "does not match"),
    ({"items": [{"sku": "ABC-1", "quantity": 0}]}, "minimum"),
    ({"items": [{"sku": "ABC-1", "quantity": 2.5}]}, "expected integer"),
    ({"items": [{"sku": "ABC-1", "quantity": True}]}, "expected integer"),
    ({"items": [{"sku": "ABC-1", "quantity": 2}], "priority": "urgent"}, "is not one of"),
    ({"items": [{"sku": "ABC-1", "quantity": 2}], "note": 5}, "anyOf"),
    ([GOOD], "expected object"),
]


def test_valid_value_has_no_error() -> None:
    assert ORDER.error(GOOD) is None
    assert ORDER.error({"items": [{"sku": "XYZ-9", "quantity": 100.0}]}) is None


@pytest.mark.parametrize(("value", "fragment"), BAD_ORDERS)
def test_violations_are_reported_with_a_path(value: Any, fragment: str) -> None:
    error = ORDER.error(value)
    assert error is not None
    assert fragment in error
    assert error.startswith("$")


def test_additional_properties_false_and_combinators() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 5}]}},
        "additionalProperties": False,
        "not": {"required": ["forbidden"]},
    }
    validator = SchemaValidator(schema)
    assert validator.error({"a": 1}) is None
    assert "exactly 1" in (validator.error({"a": 7}) or "")
    assert "unexpected property 'b'" in (validator.error({"a": 1, "b": 2}) or "")
    assert validator.error({"a": 2.5}) is not None


def test_const_unique_items_and_bool_is_not_one() -> None:
    validator = SchemaValidator({"type": "array", "uniqueItems": True, "items": {"const": 1}})
    assert validator.error([1]) is None
    assert "not unique" in (validator.error([1, 1]) or "")
    assert validator.error([True]) is not None


@pytest.mark.parametrize(
    ("schema", "key"),
    [
        ({"type": "strin"}, "schema"),
        ({"properties": {"a": {"patternProperties": {}}}}, "schema.properties.a"),
        ({"$ref": "#/$defs/Missing"}, "schema"),
        ({"$ref": "https://example.com/s.json"}, "schema"),
        ({"items": [{"type": "string"}]}, "schema.items"),
        ({"pattern": "("}, "schema.pattern"),
        ({"required": "name"}, "schema"),
        ({"properties": {"n": {"maxLength": "5"}}}, "schema.properties.n"),
    ],
)
def test_unsupported_or_broken_schemas_fail_at_compile_time(
    schema: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        SchemaValidator(schema)
    assert caught.value.key == key


def test_agrees_with_the_jsonschema_package() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    reference = jsonschema.Draft202012Validator(Order.model_json_schema())
    for value in [GOOD, *(bad for bad, _ in BAD_ORDERS)]:
        assert (ORDER.error(value) is None) == reference.is_valid(value), value
