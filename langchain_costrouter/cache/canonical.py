"""Turn generation parameters into plain JSON values a cache key can hash.

A key is only as correct as this conversion. Two rules shape it:

* Every value must have one stable JSON form in every process. Object ``repr``s
  often carry memory addresses (``<Foo object at 0x7f...>``), which would make keys
  per-process and silently kill sharing across machines, so an unknown object is a
  `TypeError` naming its type, never a ``repr``.
* A key must never carry a secret: Redis keys and diskcache rows are readable by
  whoever operates the store. Keys that name credentials are dropped, and so is
  every `SecretStr` wherever it appears.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import types
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, SecretBytes, SecretStr

from langchain_costrouter._secrets import is_secret_name

JsonValue = Any
"""A value made of dict/list/str/int/float/bool/None only."""

IGNORED_PARAMS = frozenset(
    {"callbacks", "run_manager", "run_name", "tags", "metadata", "stream_usage", "stream_options"}
)
"""Call kwargs that steer tracing, or whether a stream carries its usage (ChatOpenAI's
``stream_usage``, OpenAI's ``stream_options``), not the answer: never part of a key."""

_SCALARS = (str, int, bool, type(None))


def canonical_params(params: Mapping[str, Any]) -> dict[str, JsonValue]:
    """Canonical JSON form of a call's generation parameters.

    Kwargs that do not shape the answer (`IGNORED_PARAMS`) are left out, as are credentials.

    Raises:
        TypeError: a parameter value has no stable JSON form.
    """
    return {
        str(name): canonical(params[name], path=str(name))
        for name in sorted(params, key=str)
        if name not in IGNORED_PARAMS and _keep(str(name), params[name])
    }


def canonical(value: Any, *, path: str = "value") -> JsonValue:
    """Canonical JSON form of one value; ``path`` names it in error messages.

    Raises:
        TypeError: the value has no stable JSON form.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):  # JSON has no NaN: it would be keyed as null
            raise TypeError(f"Cannot build a cache key from {path}={value}: not a finite number.")
        # temperature=1 and temperature=1.0 are the same request.
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        # Sorted here, so the key's JSON needs no sort_keys pass (half its cost).
        return {
            str(k): canonical(value[k], path=f"{path}.{k}")
            for k in sorted(value, key=str)
            if _keep(str(k), value[k])
        }
    if isinstance(value, list | tuple):
        return [canonical(item, path=f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        return sorted((canonical(item, path=path) for item in value), key=repr)
    return _canonical_object(value, path)


def _keep(name: str, value: Any) -> bool:
    return not (is_secret_name(name) or isinstance(value, SecretStr | SecretBytes))


def _canonical_object(value: Any, path: str) -> JsonValue:
    for kind, convert in _CONVERTERS:
        if _matches(value, kind):
            return canonical(convert(value), path=path)
    raise TypeError(
        f"Cannot build a cache key from {path} of type {type(value).__qualname__}: it has no "
        "stable JSON form (its repr may hold a memory address). Pass a JSON-compatible value, "
        "a pydantic model or class, a tool, or leave the parameter out of the request."
    )


def _matches(value: Any, kind: _Kind) -> bool:
    if isinstance(kind, type | types.UnionType):
        return isinstance(value, kind)
    return kind(value)


def _is_schema_class(value: Any) -> bool:
    """Pydantic classes and TypedDicts: structured-output schemas and tool argument types."""
    return isinstance(value, type) and (
        issubclass(value, BaseModel) or hasattr(value, "__annotations__")
    )


def _is_plain_function(value: Any) -> bool:
    return callable(value) and hasattr(value, "__code__")


def _schema_of_class(value: type) -> JsonValue:
    return {"schema_class": convert_to_openai_tool(value)}


def _tool_schema(value: Any) -> JsonValue:
    return {"tool": convert_to_openai_tool(value)}


_Kind = Callable[[Any], bool] | type | types.UnionType

_CONVERTERS: tuple[tuple[_Kind, Callable[[Any], Any]], ...] = (
    (SecretStr, lambda v: None),
    (BaseModel, lambda v: v.model_dump(mode="json")),
    (_is_schema_class, _schema_of_class),
    (BaseTool, _tool_schema),
    (_is_plain_function, _tool_schema),
    (enum.Enum, lambda v: v.value),
    (Decimal, str),
    (datetime.date | datetime.datetime | datetime.time, lambda v: v.isoformat()),
    (uuid.UUID, str),
    (bytes, lambda v: v.hex()),
    (lambda v: dataclasses.is_dataclass(v) and not isinstance(v, type), dataclasses.asdict),
)
