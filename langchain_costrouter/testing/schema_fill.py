"""Fabricate a JSON value valid against a JSON schema, from values found in the prompt.

Used for tool-call arguments and structured output. Values are taken in the order the user
wrote them (numbers for numeric fields, quoted strings then proper names for strings), the
way a model copies them from the question, so tests can predict the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_costrouter.testing.prompt_facts import PromptFacts

_JOKE = {
    "setup": "Why did the cat sit on the computer?",
    "punchline": "To keep an eye on the mouse!",
}


@dataclass
class ValuePool:
    """The prompt's values, each handed out once, in order."""

    facts: PromptFacts
    numbers: list[float] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)

    @classmethod
    def from_facts(cls, facts: PromptFacts) -> ValuePool:
        """A pool holding the numbers, quoted strings and proper names of ``facts``."""
        return cls(facts, facts.numbers(), facts.quoted() + facts.proper_phrases())

    def take_number(self) -> float | None:
        """The next unused number, if any."""
        return self.numbers.pop(0) if self.numbers else None

    def take_string(self) -> str | None:
        """The next unused quoted string or proper name, if any."""
        return self.strings.pop(0) if self.strings else None

    def take_identifiers(self) -> list[str]:
        """Quoted identifiers ("'setup' and 'punchline' keys"): the keys a JSON reply needs."""
        keys = [text for text in self.facts.quoted() if text.isidentifier()]
        self.strings = [text for text in self.strings if text not in keys]
        return keys


def fill_schema(schema: dict[str, Any], pool: ValuePool) -> Any:
    """A value valid against ``schema`` (resolving its local ``$ref``s)."""
    return _fill(schema, pool, root=schema, name="")


def fill_string(name: str, pool: ValuePool) -> str:
    """A plausible string for a field called ``name``."""
    if name in _JOKE and "joke" in pool.facts.user_text.lower():
        return _JOKE[name]
    return pool.take_string() or pool.facts.topic()


def _fill(schema: dict[str, Any], pool: ValuePool, *, root: dict[str, Any], name: str) -> Any:
    schema = _resolve(schema, root)
    for choice_key in ("anyOf", "oneOf", "allOf"):
        if schema.get(choice_key):
            return _fill(_first_non_null(schema[choice_key]), pool, root=root, name=name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = _schema_type(schema)
    if kind == "object":
        return _fill_object(schema, pool, root=root)
    if kind == "array":
        item = schema.get("items") or {}
        return [
            _fill(item, pool, root=root, name=name)
            for _ in range(max(1, schema.get("minItems", 1)))
        ]
    if kind in ("integer", "number"):
        return _fill_number(schema, pool, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return fill_string(name, pool)


def _fill_object(
    schema: dict[str, Any], pool: ValuePool, *, root: dict[str, Any]
) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties") or {}
    return {key: _fill(sub, pool, root=root, name=key) for key, sub in properties.items()}


def _fill_number(schema: dict[str, Any], pool: ValuePool, *, integer: bool) -> float | int:
    value = pool.take_number()
    if value is None:
        value = 1.0
    step = 1 if integer else 1e-6
    low = schema.get("minimum", _shift(schema.get("exclusiveMinimum"), step))
    high = schema.get("maximum", _shift(schema.get("exclusiveMaximum"), -step))
    if low is not None:
        value = max(value, float(low))
    if high is not None:
        value = min(value, float(high))
    return int(value) if integer else value


def _shift(bound: float | None, step: float) -> float | None:
    return None if bound is None else bound + step


def _schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((option for option in kind if option != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    return str(kind or "string")


def _first_non_null(options: list[dict[str, Any]]) -> dict[str, Any]:
    return next((option for option in options if option.get("type") != "null"), options[0])


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` such as ``#/$defs/Joke``."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    return _resolve(target, root)
