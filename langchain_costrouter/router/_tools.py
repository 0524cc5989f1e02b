"""Tools and structured output for the router, in the children's own dialect.

The router binds tools in OpenAI's format (the lingua franca every LangChain chat
model accepts in ``bind_tools``); at call time each child re-binds them, so an
Anthropic child gets Anthropic tool kwargs and ``tool_choice="any"`` becomes
whatever that provider calls it. Structured output honours ``method``: JSON mode
and JSON schema are bound as OpenAI's ``response_format`` instead of silently turning
into tool calling, and each child that is not OpenAI's takes them in its own dialect
(`_structured`); an answer that comes back as one tool call (a child that does JSON
schema by tool calling) is read from that call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.output_parsers.transform import BaseCumulativeTransformOutputParser
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.runnables import Runnable, RunnableBinding, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from langchain_costrouter.errors import InvalidRequestError

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool

STRUCTURED_METHODS = ("function_calling", "json_mode", "json_schema")
"""What ``with_structured_output`` takes as ``method`` (another is refused, not guessed)."""


def openai_tools(tools: Sequence[ToolLike], strict: bool | None = None) -> list[dict[str, Any]]:
    """Tools in OpenAI's JSON format: stable, serialisable, cache-key friendly.

    ``strict`` is folded into each tool (``function.strict``, and the closed objects
    strict mode requires) rather than left as a call kwarg, which the child would send
    as an unknown top-level request field.
    """
    return [convert_to_openai_tool(tool, strict=strict) for tool in tools]


_TOOL_OPTIONS = ("tool_choice", "parallel_tool_calls")
"""What ``bind_tools`` takes beside the tools that each provider words its own way
(Anthropic's ``parallel_tool_calls=False`` is ``tool_choice.disable_parallel_tool_use``:
sent as it is, its API has no such field and the request is refused)."""


def native_tool_kwargs(child: BaseChatModel, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Let ``child`` translate the router's OpenAI-format tools, and the options that go
    with them, into its own kwargs."""
    tools = kwargs.get("tools")
    if not tools:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k != "tools" and k not in _TOOL_OPTIONS}
    options = {k: kwargs[k] for k in _TOOL_OPTIONS[1:] if kwargs.get(k) is not None}
    bound = child.bind_tools(tools, tool_choice=kwargs.get("tool_choice"), **options)
    native = bound.kwargs if isinstance(bound, RunnableBinding) else {}
    return {**rest, **native}


def response_format_for(
    schema: dict[str, Any] | type, method: str, strict: bool | None
) -> dict[str, Any]:
    """The OpenAI ``response_format`` for JSON mode or a JSON schema."""
    if method == "json_mode":
        return {"type": "json_object"}
    # Strict mode needs every object closed (additionalProperties: false), or OpenAI
    # refuses the schema; the conversion does that when told it is strict.
    json_schema = convert_to_json_schema(schema, strict=strict)
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
    """``model`` bound to the schema as ``method`` asks, piped into the matching parser.

    Raises:
        InvalidRequestError: ``method`` is none of `STRUCTURED_METHODS`.
    """
    if method not in STRUCTURED_METHODS:
        raise InvalidRequestError(
            f"with_structured_output(method={method!r}) is not a method: use one of "
            f"{', '.join(STRUCTURED_METHODS)}."
        )
    structured_format: dict[str, Any] = {"kwargs": {"method": method}, "schema": schema}
    if strict is not None:
        structured_format["kwargs"]["strict"] = strict
    llm: Runnable[LanguageModelInput, Any]
    if method == "function_calling":
        llm = model.bind_tools(
            [schema],
            tool_choice="any",
            strict=strict,
            ls_structured_output_format=structured_format,
        )
    else:
        llm = model.bind(
            response_format=response_format_for(schema, method, strict),
            ls_structured_output_format=structured_format,
        )
    parser = _parser(schema, method)
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([fallback], exception_key="parsing_error")


def _parser(schema: dict[str, Any] | type, method: str) -> Runnable[AIMessage, Any]:
    """The answer's first tool call (tool calling) or its text, as the schema's type."""
    pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    if method == "function_calling":
        if pydantic:
            return PydanticToolsParser(tools=[schema], first_tool_only=True)
        name = convert_to_openai_tool(schema)["function"]["name"]
        return JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    inner = PydanticOutputParser(pydantic_object=schema) if pydantic else JsonOutputParser()
    return _AnswerParser(inner=inner)


def _tool_call_as_text(result: list[Generation]) -> list[Generation]:
    """An answer that is only one tool call, as the JSON text of its arguments.

    A child whose LangChain structured output is tool calling (langchain-core's default
    for a model with tools and nothing else) answers JSON schema that way.
    """
    first = result[0] if result else None
    if not isinstance(first, ChatGeneration) or first.text:
        return result
    calls = first.message.tool_calls if isinstance(first.message, AIMessage) else []
    if len(calls) != 1:
        return result
    return [ChatGeneration(message=AIMessage(content=json.dumps(calls[0]["args"])))]


class _AnswerParser(BaseCumulativeTransformOutputParser[Any]):
    """``inner`` (JSON or the schema's object) read from the answer's text, or from its
    one tool call when it has no text; streamed as ``inner`` streams.

    A wrapper rather than a subclass: pydantic's mypy plugin cannot type subclasses of
    langchain-core's JSON parsers (their generic field).
    """

    inner: JsonOutputParser

    @property
    def OutputType(self) -> Any:  # noqa: N802 (langchain-core's name)
        return self.inner.OutputType

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        return self.inner.parse_result(_tool_call_as_text(result), partial=partial)

    def parse(self, text: str) -> Any:
        return self.inner.parse(text)


def _without_title(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("title", "description")}
