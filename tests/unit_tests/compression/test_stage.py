"""Names the prose must keep exact, taken from the call's tools and response format."""

from __future__ import annotations

from langchain_core.messages import SystemMessage
from pydantic import BaseModel

from langchain_costrouter.compression import PromptCompressor
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


def test_built_in_tools_are_named_without_failing_the_call() -> None:
    """A provider's built-in tool has no function schema; a routed call binding one
    failed with KeyError 'function' in the compression stage, before any provider call."""
    names = tool_identifiers(
        [lookup_order, {"type": "web_search_preview"}, {"type": "file_search", "name": "docs"}]
    )

    assert names[:3] == ["lookup_order", "web_search_preview", "docs"]


def test_a_prompt_naming_a_built_in_tool_is_compressed_with_the_name_kept() -> None:
    prompt = "Please note that you must use web_search_preview for prices. " * 20
    result = PromptCompressor(min_tokens=20).compress_messages(
        [SystemMessage(prompt)], tools=[{"type": "web_search_preview"}]
    )
    assert result.tokens_after < result.tokens_before
    assert "use web_search_preview for prices" in result.messages[0].text
