from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_costrouter.checks import JSONSchemaCheck, PydanticCheck, ToolCallCheck, ValidJSON
from langchain_costrouter.errors import ConfigError

QUESTION = [HumanMessage("Extract the person.")]


class Person(BaseModel):
    name: str
    age: int = Field(ge=0)


PERSON_SCHEMA = Person.model_json_schema()


def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": args, "id": "call_1", "type": "tool_call"}


def tool_answer(*calls: dict[str, Any]) -> AIMessage:
    return AIMessage("", tool_calls=list(calls))


BROKEN_CALL = AIMessage(
    "",
    invalid_tool_calls=[
        {
            "name": "Person",
            "args": '{"name": "Ann", ',
            "id": "c",
            "error": None,
            "type": "invalid_tool_call",
        }
    ],
)


@pytest.mark.parametrize(
    "text", ['{"a": 1}', "[1, 2]", '```json\n{"a": 1}\n```', "```\n[]\n```", " 3 "]
)
def test_valid_json_passes_json_text(text: str) -> None:
    assert ValidJSON().evaluate(QUESTION, AIMessage(text)).score == 1.0


@pytest.mark.parametrize(
    "text", ['{"a": 1', "{'a': 1}", 'Sure! {"a": 1}', '{"a": NaN}', "", "[1, 2,]"]
)
def test_valid_json_fails_invalid_json(text: str) -> None:
    result = ValidJSON().evaluate(QUESTION, AIMessage(text))
    assert result.score == 0.0
    assert "JSON" in result.reason


def test_valid_json_without_fences_rejects_a_fenced_answer() -> None:
    fenced = AIMessage('```json\n{"a": 1}\n```')
    assert ValidJSON(allow_code_fence=False).evaluate(QUESTION, fenced).score == 0.0


def test_valid_json_reads_tool_calls_in_auto_mode() -> None:
    assert ValidJSON().evaluate(QUESTION, tool_answer(call("Person", {}))).score == 1.0
    assert ValidJSON().evaluate(QUESTION, BROKEN_CALL).score == 0.0
    two = tool_answer(call("a", {}), call("b", {}))
    assert ValidJSON().evaluate(QUESTION, two).reason == "expected one tool call, got 2"


def test_valid_json_source_tool_call_requires_a_call() -> None:
    result = ValidJSON(source="tool_call").evaluate(QUESTION, AIMessage('{"a": 1}'))
    assert result.score == 0.0


def test_unknown_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="source"):
        ValidJSON(source="body")  # type: ignore[arg-type]


def test_json_schema_check_on_text_and_tool_calls() -> None:
    check = JSONSchemaCheck(PERSON_SCHEMA)
    assert check.evaluate(QUESTION, AIMessage('{"name": "Ann", "age": 31}')).score == 1.0
    person_call = tool_answer(call("Person", {"name": "Ann", "age": 3}))
    assert check.evaluate(QUESTION, person_call).score == 1.0
    wrong = check.evaluate(QUESTION, AIMessage('{"name": "Ann", "age": -1}'))
    assert wrong.score == 0.0
    assert wrong.reason == "$.age: -1 violates minimum 0"
    assert check.evaluate(QUESTION, AIMessage('{"name": "Ann"}')).score == 0.0
    assert check.evaluate(QUESTION, AIMessage("Ann is 31")).score == 0.0


def test_json_schema_check_names_the_config_key_of_a_bad_schema() -> None:
    with pytest.raises(ConfigError) as caught:
        JSONSchemaCheck({"type": "object", "if": {}}, key="routes.extract.check.schema")
    assert caught.value.key == "routes.extract.check.schema"


def test_pydantic_check() -> None:
    check = PydanticCheck(Person)
    assert check.evaluate(QUESTION, AIMessage('{"name": "Ann", "age": "31"}')).score == 1.0
    result = check.evaluate(QUESTION, AIMessage('{"name": "Ann", "age": "old"}'))
    assert result.score == 0.0
    assert result.reason.startswith("1 validation error(s); age:")
    assert check.evaluate(QUESTION, tool_answer(call("Person", {"name": "B"}))).score == 0.0


def test_pydantic_check_accepts_any_pydantic_type() -> None:
    check = PydanticCheck(list[int])
    assert check.evaluate(QUESTION, AIMessage("[1, 2, 3]")).score == 1.0
    assert check.evaluate(QUESTION, AIMessage('["x"]')).score == 0.0


@tool
def get_weather(city: str, days: int = 1) -> str:
    """Forecast for a city."""
    return f"{city}: sunny for {days} days"


class Lookup(BaseModel):
    """Look a customer up."""

    customer_id: int


def test_tool_call_check_passes_valid_calls() -> None:
    check = ToolCallCheck([get_weather, Lookup])
    answer = tool_answer(call("get_weather", {"city": "Oslo"}), call("Lookup", {"customer_id": 7}))
    result = check.evaluate(QUESTION, answer)
    assert result.score == 1.0
    assert result.reason == "2 valid tool call(s)"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (AIMessage("It is sunny."), "no tool call"),
        (tool_answer(call("get_time", {})), "unknown tool 'get_time'"),
        (tool_answer(call("get_weather", {"days": 2})), "missing required ['city']"),
        (tool_answer(call("get_weather", {"city": "Oslo", "days": "two"})), "expected integer"),
        (tool_answer(call("Lookup", {"customer_id": 1.5})), "expected integer"),
        (BROKEN_CALL, "unparseable arguments for tool 'Person'"),
    ],
)
def test_tool_call_check_fails_bad_calls(answer: AIMessage, reason: str) -> None:
    result = ToolCallCheck([get_weather, Lookup]).evaluate(QUESTION, answer)
    assert result.score == 0.0
    assert reason in result.reason


def test_tool_call_check_optional_calls_allow_text() -> None:
    check = ToolCallCheck([get_weather], required=False)
    assert check.evaluate(QUESTION, AIMessage("It is sunny.")).score == 1.0


def test_tool_call_check_accepts_openai_tool_dicts() -> None:
    spec = {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}},
                "required": ["a"],
            },
        },
    }
    check = ToolCallCheck([spec])
    assert check.evaluate(QUESTION, tool_answer(call("add", {"a": 1.5}))).score == 1.0
    assert check.evaluate(QUESTION, tool_answer(call("add", {"a": "1"}))).score == 0.0
