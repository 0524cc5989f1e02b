"""Tools and structured output for the router, in the children's own dialect.

The router binds tools in OpenAI's format (the lingua franca every LangChain chat
model accepts in ``bind_tools``); at call time each child re-binds them, so an
Anthropic child gets Anthropic tool kwargs and ``tool_choice="any"`` becomes
whatever that provider calls it. Structured output honours ``method``: JSON mode
and JSON schema go out as ``response_format`` instead of silently turning into
tool calling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.runnables import Runnable, RunnableBinding, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool


def openai_tools(tools: Sequence[ToolLike]) -> list[dict[str, Any]]:
    """Tools in OpenAI's JSON format: stable, serialisable, cache-key friendly."""
    return [convert_to_openai_tool(tool) for tool in tools]


def native_tool_kwargs(child: BaseChatModel, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Let ``child`` translate the router's OpenAI-format tools into its own kwargs."""
    tools = kwargs.get("tools")
    if not tools:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k not in ("tools", "tool_choice")}
    bound = child.bind_tools(tools, tool_choice=kwargs.get("tool_choice"))
    native = bound.kwargs if isinstance(bound, RunnableBinding) else {}
    return {**rest, **native}


def response_format_for(
    schema: dict[str, Any] | type, method: str, strict: bool | None
) -> dict[str, Any]:
    """The OpenAI ``response_format`` for JSON mode or a JSON schema."""
    if method == "json_mode":
        return {"type": "json_object"}
    json_schema = convert_to_json_schema(schema)
    spec: dict[str, Any] = {
        "name": json_schema.get("title", "output"),
        "schema": _without_title(json_schema),
    }
    if json_schema.get("description"):
        spec["description"] = json_schema["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def structured_runnable(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: str,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, Any]:
    """``model`` bound to a response format, piped into the matching parser."""
    llm = model.bind(
        response_format=response_format_for(schema, method, strict),
        ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
    )
    parser: Runnable[AIMessage, Any]
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        parser = PydanticOutputParser(pydantic_object=schema)
    else:
        parser = JsonOutputParser()
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([fallback], exception_key="parsing_error")


def _without_title(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("title", "description")}
