"""A small JSON Schema validator for the subset that structured output uses.

Why not the ``jsonschema`` package: it is not a dependency of this project, and the
schemas that reach a cascade (pydantic's ``model_json_schema()``, tool parameter
schemas from ``convert_to_openai_tool``) use a small, stable subset. Any keyword
outside that subset is rejected when the schema is compiled, never ignored, so a
check can not pass an answer the schema would have rejected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from langchain_costrouter.errors import ConfigError

_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "$schema", "$id",
     "format", "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "strict"}
)  # fmt: skip
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    # JSON has one number type: 1.0 is an integer, and true is not a number.
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_BOUNDS: dict[str, Callable[[float, float], bool]] = {
    "minimum": lambda v, b: v >= b,
    "maximum": lambda v, b: v <= b,
    "exclusiveMinimum": lambda v, b: v > b,
    "exclusiveMaximum": lambda v, b: v < b,
}
_SIZES = {"minLength": str, "maxLength": str, "minItems": list, "maxItems": list,
          "minProperties": dict, "maxProperties": dict}  # fmt: skip
_STRUCTURE = frozenset(
    {"type", "enum", "const", "properties", "required", "additionalProperties", "items",
     "uniqueItems", "pattern", "multipleOf", "anyOf", "oneOf", "allOf", "not", "$ref"}
)  # fmt: skip
KNOWN_KEYWORDS = _ANNOTATIONS | _STRUCTURE | set(_BOUNDS) | set(_SIZES)
# The JSON shape each keyword's value must have; a wrong one is a broken schema.
_SHAPES: dict[str, type | tuple[type, ...]] = {
    "required": list, "enum": list, "anyOf": list, "oneOf": list, "allOf": list,
    "properties": Mapping, "$defs": Mapping, "definitions": Mapping, "pattern": str,
    "$ref": str, "uniqueItems": bool, "type": (str, list),
    **dict.fromkeys((*_BOUNDS, "multipleOf"), (int, float)),
    **dict.fromkeys(_SIZES, int),
}  # fmt: skip


class SchemaValidator:
    """Validates JSON values against one compiled schema; reports the first error."""

    def __init__(self, schema: Mapping[str, Any], *, key: str = "schema") -> None:
        """Check the schema uses only supported keywords, then keep it.

        Args:
            schema: A JSON Schema (draft 2020-12 style, local ``$ref`` only).
            key: Where the schema came from (a config key path), named in errors.

        Raises:
            ConfigError: The schema is malformed or uses an unsupported keyword.
        """
        self.schema = schema
        self._key = key
        refs: list[str] = []
        _audit(schema, key, refs)
        for ref in refs:
            self._resolve(ref)

    def error(self, value: Any) -> str | None:
        """The first reason ``value`` violates the schema, or None when it is valid."""
        return self._check(self.schema, value, "$")

    def _check(self, schema: Mapping[str, Any] | bool, value: Any, where: str) -> str | None:
        if isinstance(schema, bool):
            return None if schema else f"{where}: no value is allowed here"
        if "$ref" in schema:
            error = self._check(self._resolve(schema["$ref"]), value, where)
            if error:
                return error
        for rule in (_check_type, _check_values, _check_bounds, _check_sizes, _check_pattern):
            error = rule(schema, value, where)
            if error:
                return error
        return self._check_combinators(schema, value, where) or self._check_children(
            schema, value, where
        )

    def _check_combinators(self, schema: Mapping[str, Any], value: Any, where: str) -> str | None:
        if "allOf" in schema:
            for sub in schema["allOf"]:
                error = self._check(sub, value, where)
                if error:
                    return error
        if "anyOf" in schema and all(self._check(s, value, where) for s in schema["anyOf"]):
            return f"{where}: matches none of anyOf"
        if "oneOf" in schema:
            passing = sum(self._check(s, value, where) is None for s in schema["oneOf"])
            if passing != 1:
                return f"{where}: matches {passing} of oneOf, need exactly 1"
        if "not" in schema and self._check(schema["not"], value, where) is None:
            return f"{where}: matches a schema it must not match"
        return None

    def _check_children(self, schema: Mapping[str, Any], value: Any, where: str) -> str | None:
        if isinstance(value, dict):
            return self._check_object(schema, value, where)
        if isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                error = self._check(schema["items"], item, f"{where}[{index}]")
                if error:
                    return error
        return None

    def _check_object(
        self, schema: Mapping[str, Any], value: dict[str, Any], where: str
    ) -> str | None:
        missing = [name for name in schema.get("required", ()) if name not in value]
        if missing:
            return f"{where}: missing required {missing}"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            sub = properties.get(name, extra)
            if sub is False:
                return f"{where}: unexpected property {name!r}"
            error = self._check(sub, item, f"{where}.{name}")
            if error:
                return error
        return None

    def _resolve(self, ref: str) -> Mapping[str, Any] | bool:
        if not ref.startswith("#"):
            raise ConfigError(f"only local $ref ('#/...') is supported, got {ref!r}", key=self._key)
        node: Any = self.schema
        for part in ref.removeprefix("#/").split("/") if ref != "#" else ():
            node = node.get(part.replace("~1", "/").replace("~0", "~"))
            if not isinstance(node, Mapping | bool):
                raise ConfigError(f"$ref {ref!r} points to no schema", key=self._key)
        return node  # type: ignore[no-any-return]


def _check_type(schema: Mapping[str, Any], value: Any, where: str) -> str | None:
    if "type" not in schema:
        return None
    allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if any(_TYPES[name](value) for name in allowed):
        return None
    return f"{where}: expected {' or '.join(allowed)}, got {type(value).__name__}"


def _check_values(schema: Mapping[str, Any], value: Any, where: str) -> str | None:
    if "enum" in schema and not any(_json_equal(value, item) for item in schema["enum"]):
        return f"{where}: {value!r} is not one of {schema['enum']}"
    if "const" in schema and not _json_equal(value, schema["const"]):
        return f"{where}: {value!r} is not {schema['const']!r}"
    if (
        schema.get("uniqueItems")
        and isinstance(value, list)
        and any(_json_equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :])
    ):
        return f"{where}: items are not unique"
    return None


def _check_bounds(schema: Mapping[str, Any], value: Any, where: str) -> str | None:
    if not _TYPES["number"](value):
        return None
    for keyword, holds in _BOUNDS.items():
        if keyword in schema and not holds(value, schema[keyword]):
            return f"{where}: {value} violates {keyword} {schema[keyword]}"
    step = schema.get("multipleOf")
    if step and not math.isclose(value / step, round(value / step)):
        return f"{where}: {value} is not a multiple of {step}"
    return None


def _check_sizes(schema: Mapping[str, Any], value: Any, where: str) -> str | None:
    for keyword, kind in _SIZES.items():
        if keyword in schema and isinstance(value, kind):
            size, limit = len(value), schema[keyword]
            if (size < limit) if keyword.startswith("min") else (size > limit):
                return f"{where}: size {size} violates {keyword} {limit}"
    return None


def _check_pattern(schema: Mapping[str, Any], value: Any, where: str) -> str | None:
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return f"{where}: {value!r} does not match /{schema['pattern']}/"
    return None


def _json_equal(a: Any, b: Any) -> bool:
    # In JSON, true and 1 differ although Python's True == 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _audit(schema: Any, key: str, refs: list[str]) -> None:
    """Reject what this validator can not enforce, naming where in the schema it is.

    Collects every ``$ref`` into ``refs`` so the caller can resolve them up front.
    """
    if isinstance(schema, bool):
        return
    if not isinstance(schema, Mapping):
        raise ConfigError(f"a schema must be an object or a boolean, got {schema!r}", key=key)
    unknown = sorted(set(schema) - KNOWN_KEYWORDS)
    if unknown:
        raise ConfigError(f"unsupported JSON Schema keywords {unknown}", key=key)
    for keyword, shape in _SHAPES.items():
        if keyword in schema and not isinstance(schema[keyword], shape):
            raise ConfigError(f"{keyword} has the wrong type: {schema[keyword]!r}", key=key)
    types = schema.get("type", [])
    for name in types if isinstance(types, list) else [types]:
        if name not in _TYPES:
            raise ConfigError(f"unknown type {name!r}, expected one of {sorted(_TYPES)}", key=key)
    if "pattern" in schema:
        _audit_pattern(schema["pattern"], f"{key}.pattern")
    if "$ref" in schema:
        refs.append(schema["$ref"])
    for child_key, child in _children(schema):
        _audit(child, f"{key}.{child_key}", refs)


def _audit_pattern(pattern: Any, key: str) -> None:
    try:
        re.compile(pattern)
    except (re.error, TypeError) as err:
        raise ConfigError(f"invalid pattern {pattern!r}: {err}", key=key) from err


def _children(schema: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for keyword in ("properties", "$defs", "definitions"):
        found += [(f"{keyword}.{name}", sub) for name, sub in schema.get(keyword, {}).items()]
    for keyword in ("anyOf", "oneOf", "allOf"):
        found += [(f"{keyword}[{i}]", sub) for i, sub in enumerate(schema.get(keyword, []))]
    for keyword in ("items", "not", "additionalProperties"):
        if keyword in schema:
            found.append((keyword, schema[keyword]))
    return found
