"""Names the prose must keep exact, taken from the call's tools and response format."""

from __future__ import annotations

from pydantic import BaseModel

from langchain_costrouter.compression.stage import tool_identifiers


class TicketOutcome(BaseModel):
    category: str
    follow_up_days: int
    resolvedFlag: bool  # noqa: N815 - a camelCase field, as some APIs use


def lookup_order(order_id: str, verbose: bool = False) -> str:
    """Look up an order."""
    return order_id


def test_tool_names_and_code_like_fields_are_kept() -> None:
    names = tool_identifiers([lookup_order], TicketOutcome)

    assert names[0] == "lookup_order"
    assert {"order_id", "follow_up_days", "resolvedFlag"} <= set(names)
    assert not {"verbose", "category"} & set(names)  # plain words may be rephrased


def test_openai_json_schema_response_format() -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"properties": {"max_items": {"type": "integer"}}}},
    }

    assert tool_identifiers(None, response_format) == ["max_items"]
    assert tool_identifiers(None, {"type": "json_object"}) == []
