"""The test server's default answers: deterministic and plausible, with no model behind them.

When a test scripts nothing, the server still has to behave like a chat model for the
standard LangChain suites: greet back, call an offered tool with arguments copied from the
question, answer in JSON valid against a requested schema, and use a tool's result once it
arrives. Everything here is a pure function of the request body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_costrouter.testing.prompt_facts import PromptFacts, ToolResult, result_value
from langchain_costrouter.testing.replies import Reply, ToolCall
from langchain_costrouter.testing.schema_fill import ValuePool, fill_schema, fill_string

_GREETING = re.compile(r"^\s*(hello|hi|hey|good (morning|afternoon|evening))\b", re.IGNORECASE)
_ARITHMETIC = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/\u00d7])\s*(-?\d+(?:\.\d+)?)")
_NAME_STOPWORDS = frozenset({"get", "set", "tool", "function", "the", "and", "for", "run", "do"})
_HAIKUS = (
    "Soft rain on the roof,\nthe kettle begins to sing,\nwarm hands, quiet room.\n\n"
    "Autumn leaves drifting,\na red kite over the hill,\nwind carries it home."
)
_JOKE_TEXT = "Why did the cat sit on the computer? To keep an eye on the mouse!"


def brain_reply(body: dict[str, Any]) -> Reply:
    """The default answer to a chat completions request body."""
    facts = PromptFacts.from_body(body)
    functions = _offered_functions(body)
    chosen = _functions_to_call(body, functions, facts)
    if chosen:
        return Reply(tool_calls=[_fabricate_call(function, facts) for function in chosen])
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema") or {}
        return Reply(text=_dump(fill_schema(schema, ValuePool.from_facts(facts))))
    if response_format.get("type") == "json_object":
        return Reply(text=_dump(_json_object(facts)))
    return Reply(text=text_answer(facts))


def text_answer(facts: PromptFacts) -> str:
    """A short plain-text answer to the conversation's last turn."""
    if facts.last_role == "tool" and facts.tool_results:
        return " ".join(_describe_result(result) for result in facts.tool_results)
    text = facts.user_text
    lowered = text.lower()
    arithmetic = _ARITHMETIC.search(text)
    if not text.strip() or (_GREETING.search(text) and len(text) < 40):
        return "Hello! How can I help you today?"
    if "how are you" in lowered:
        return "I'm doing well, thank you for asking! How can I help you today?"
    if "haiku" in lowered:
        return _HAIKUS
    if "joke" in lowered:
        return _JOKE_TEXT
    if arithmetic:
        return _arithmetic_answer(*arithmetic.groups())
    return f"Here is a concise answer about {facts.topic()[:80]}."


def _offered_functions(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools = body.get("tools") or []
    return [tool["function"] for tool in tools if tool.get("type") == "function"]


def _functions_to_call(
    body: dict[str, Any], functions: list[dict[str, Any]], facts: PromptFacts
) -> list[dict[str, Any]]:
    """Which offered functions to call, honouring ``tool_choice`` like OpenAI does."""
    choice = body.get("tool_choice", "auto")
    if not functions or choice == "none":
        return []
    if isinstance(choice, dict):
        forced = choice.get("function", {}).get("name")
        return [function for function in functions if function.get("name") == forced][:1]
    relevant = _relevant_functions(functions, facts.user_text)
    if choice == "required":
        relevant = relevant or functions[:1]
    elif facts.last_role != "user":
        return []
    return relevant[:1] if body.get("parallel_tool_calls") is False else relevant


def _relevant_functions(functions: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Functions the user's words point at, best match first.

    A function is relevant when the text names it or uses a word of its name ("weather"
    for ``get_weather``); a request to "use the tool" with no better match picks the first.
    """
    words = re.findall(r"\w+", text.lower())
    scored = [
        (_relevance(function, text.lower(), words), index)
        for index, function in enumerate(functions)
    ]
    ranked = sorted((pair for pair in scored if pair[0] > 0), key=lambda pair: (-pair[0], pair[1]))
    if not ranked and re.search(r"\b(use|using) (the|a|your) tools?\b", text, re.IGNORECASE):
        return functions[:1]
    return [functions[index] for _, index in ranked]


def _relevance(function: dict[str, Any], lowered_text: str, words: list[str]) -> int:
    name = str(function.get("name", ""))
    if name and name.lower() in lowered_text:
        return 10
    name_words = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower().split("_")
    stems = [
        word[: max(4, len(word) - 2)]
        for word in name_words
        if len(word) >= 3 and word not in _NAME_STOPWORDS
    ]
    return sum(1 for stem in stems if any(word.startswith(stem) for word in words))


def _fabricate_call(function: dict[str, Any], facts: PromptFacts) -> ToolCall:
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = fill_schema(parameters, ValuePool.from_facts(facts))
    return ToolCall(name=str(function["name"]), arguments=arguments)


def _json_object(facts: PromptFacts) -> dict[str, Any]:
    """JSON mode has no schema: use the keys the prompt quotes, else one ``answer`` key."""
    pool = ValuePool.from_facts(facts)
    keys = pool.take_identifiers()
    if not keys:
        return {"answer": text_answer(facts)}
    return {key: fill_string(key, pool) for key in keys}


def _describe_result(result: ToolResult) -> str:
    if result.content.lower().startswith("error"):
        return f"The {result.name} tool reported an error: {result.content}"
    return f"The result of {result.name} is {_format_value(result_value(result.content))}."


def _arithmetic_answer(left: str, operator: str, right: str) -> str:
    a, b = float(left), float(right)
    results = {
        "+": a + b,
        "-": a - b,
        "*": a * b,
        "\u00d7": a * b,
        "/": a / b if b else float("nan"),
    }
    return f"{left} {operator} {right} = {_format_value(results[operator])}."


def _format_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
