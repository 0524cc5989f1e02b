"""Checks for structured output and tool calls: the answer must parse and fit a schema.

A structured answer arrives either as JSON text (JSON mode) or as the arguments of a
tool call (function calling, which ``with_structured_output`` uses by default). With
``source="auto"`` the checks read the tool call when there is one, else the text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import TypeAdapter, ValidationError

from langchain_costrouter.checks.base import BaseCheck, CheckResult
from langchain_costrouter.checks.json_schema import SchemaValidator
from langchain_costrouter.checks.text import answer_text, strip_code_fence

Source = Literal["auto", "content", "tool_call"]
ToolLike = BaseTool | Mapping[str, Any] | type | Callable[..., Any]


class _NoPayloadError(ValueError):
    """The answer holds no parseable structured value; the message says why."""


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON (and every strict consumer) does not.
    raise _NoPayloadError(f"{name} is not valid JSON")


def _parse_json_text(text: str, *, allow_code_fence: bool = True) -> Any:
    """Parse strict JSON from an answer's text, optionally unwrapping a code fence."""
    body = strip_code_fence(text) if allow_code_fence else text.strip()
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise _NoPayloadError(
            f"invalid JSON: {err.msg} at line {err.lineno} col {err.colno}"
        ) from err


def _structured_payload(answer: AIMessage, source: Source, *, allow_code_fence: bool = True) -> Any:
    """The structured value an answer carries: one tool call's arguments or parsed text.

    Raises:
        _NoPayloadError: There is none, with the reason.
    """
    has_calls = bool(answer.tool_calls or answer.invalid_tool_calls)
    if source == "tool_call" or (source == "auto" and has_calls):
        if answer.invalid_tool_calls:
            raise _NoPayloadError(
                f"unparseable tool call arguments: {answer.invalid_tool_calls[0]}"
            )
        if len(answer.tool_calls) != 1:
            raise _NoPayloadError(f"expected one tool call, got {len(answer.tool_calls)}")
        return answer.tool_calls[0]["args"]
    return _parse_json_text(answer_text(answer), allow_code_fence=allow_code_fence)


class _PayloadCheck(BaseCheck):
    """Extracts the structured value, then lets the subclass judge it."""

    def __init__(self, *, name: str, source: Source, allow_code_fence: bool) -> None:
        if source not in ("auto", "content", "tool_call"):
            raise ValueError(f"Unknown source {source!r}; use auto, content or tool_call.")
        self.name = name
        self.source = source
        self.allow_code_fence = allow_code_fence

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 when the answer's structured value passes, else 0 with the reason."""
        try:
            value = _structured_payload(answer, self.source, allow_code_fence=self.allow_code_fence)
        except _NoPayloadError as err:
            return CheckResult(0.0, str(err))
        error = self._error(value)
        return CheckResult(0.0, error) if error else CheckResult(1.0, "valid")

    def _error(self, value: Any) -> str | None:
        """Why ``value`` fails this check, or None when it passes."""
        return None


class ValidJSON(_PayloadCheck):
    """Passes answers that are valid JSON (or a tool call with parseable arguments)."""

    def __init__(
        self, *, source: Source = "auto", allow_code_fence: bool = True, name: str = "valid_json"
    ) -> None:
        """Create the check.

        Args:
            source: Read the tool call ("tool_call"), the text ("content"), or the
                tool call when present ("auto").
            allow_code_fence: Accept JSON wrapped in a single markdown code fence,
                as LangChain's JSON output parsers do.
            name: Label of the check in ledger reasons.
        """
        super().__init__(name=name, source=source, allow_code_fence=allow_code_fence)


class JSONSchemaCheck(_PayloadCheck):
    """Passes answers whose JSON value is valid against a JSON Schema."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        source: Source = "auto",
        allow_code_fence: bool = True,
        name: str = "json_schema",
        key: str = "schema",
    ) -> None:
        """Create the check.

        Args:
            schema: The JSON Schema (the subset `SchemaValidator` supports).
            source: Where the JSON comes from; see `ValidJSON`.
            allow_code_fence: Accept JSON wrapped in a markdown code fence.
            name: Label of the check in ledger reasons.
            key: Where the schema came from (a config key path), named in errors.

        Raises:
            ConfigError: The schema uses a keyword the validator can not enforce.
        """
        super().__init__(name=name, source=source, allow_code_fence=allow_code_fence)
        self.validator = SchemaValidator(schema, key=key)

    def _error(self, value: Any) -> str | None:
        return self.validator.error(value)


class PydanticCheck(_PayloadCheck):
    """Passes answers that validate as a pydantic model (or any type pydantic knows)."""

    def __init__(
        self,
        schema: type[Any],
        *,
        source: Source = "auto",
        allow_code_fence: bool = True,
        name: str = "pydantic",
    ) -> None:
        """Create the check.

        Args:
            schema: A pydantic model, TypedDict, dataclass or other type that
                `pydantic.TypeAdapter` accepts; validation runs in its default mode.
            source: Where the JSON comes from; see `ValidJSON`.
            allow_code_fence: Accept JSON wrapped in a markdown code fence.
            name: Label of the check in ledger reasons.
        """
        super().__init__(name=name, source=source, allow_code_fence=allow_code_fence)
        self.schema = schema
        self._adapter: TypeAdapter[Any] = TypeAdapter(schema)

    def _error(self, value: Any) -> str | None:
        try:
            self._adapter.validate_python(value)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "$"
            return f"{err.error_count()} validation error(s); {where}: {first['msg']}"
        return None


class ToolCallCheck(BaseCheck):
    """Passes answers that call known tools with arguments valid for their schemas."""

    def __init__(
        self, tools: Sequence[ToolLike], *, required: bool = True, name: str = "tool_calls"
    ) -> None:
        """Create the check from the tools bound to the model.

        Args:
            tools: Anything ``bind_tools`` accepts: `BaseTool`s, pydantic models,
                functions or OpenAI tool dicts.
            required: Fail an answer that calls no tool; set False when the model
                may answer in text (``tool_choice="auto"``).
            name: Label of the check in ledger reasons.
        """
        self.name = name
        self.required = required
        self.validators = {
            spec["function"]["name"]: SchemaValidator(
                spec["function"].get("parameters", {}),
                key=f"tools.{spec['function']['name']}.parameters",
            )
            for spec in (convert_to_openai_tool(tool) for tool in tools)
        }

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 when every tool call is known and valid, else 0 with the first fault."""
        if answer.invalid_tool_calls:
            bad = answer.invalid_tool_calls[0]
            return CheckResult(0.0, f"unparseable arguments for tool {bad.get('name')!r}")
        if not answer.tool_calls:
            return CheckResult(0.0, "no tool call") if self.required else CheckResult(1.0, "ok")
        for call in answer.tool_calls:
            validator = self.validators.get(call["name"])
            if validator is None:
                return CheckResult(0.0, f"unknown tool {call['name']!r}")
            error = validator.error(call["args"])
            if error:
                return CheckResult(0.0, f"tool {call['name']!r}: {error}")
        return CheckResult(1.0, f"{len(answer.tool_calls)} valid tool call(s)")
