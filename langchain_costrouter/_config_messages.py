"""Pydantic's problems with a config file, in the file's words.

One `ConfigError` names the file, the key as the file spells it (``routes.chat.tiers[0]``,
``class`` not ``class_``, no kind tag of a tagged union), TOML's type names rather than
Python's, and what the key takes; an unknown key that misspells a missing required one is
reported first (`_unknown_keys.unknown_key_first`), and the others are counted. A wrong value
is repeated only where it cannot be a credential (`shown_input`): the likeliest way a
key gets into the file is pasted where ``api_key_env``'s variable name goes.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from langchain_costrouter._secrets import is_secret_name, redacted, shown_url
from langchain_costrouter._unknown_keys import (
    did_you_mean,
    unknown_key_first,
    unknown_key_problem_message,
)
from langchain_costrouter.errors import ConfigError


@dataclass(frozen=True)
class FileShape:
    """The file's root model, and its one tagged union with the model of each tag."""

    root: type[BaseModel]
    tagged: Any
    kinds: Mapping[str, type[BaseModel]]


def file_error(problems: list[ErrorDetails], path: str, shape: FileShape) -> ConfigError:
    """The first problem (a misspelt required key first) and how many more."""
    problems = unknown_key_first(problems)
    first = _config_error(problems[0], path, problems, shape)
    if len(problems) == 1:
        return first
    others = ", ".join(_key(_walk(p["loc"], shape)[1]) for p in problems[1:])
    more = f" (and {len(problems) - 1} more: {others})"
    return ConfigError(first.reason + more, path=path, key=first.key)


def _config_error(
    problem: ErrorDetails, path: str, problems: list[ErrorDetails], shape: FileShape
) -> ConfigError:
    table, loc = _walk(problem["loc"], shape)
    key = _key(loc)
    if problem["type"] == "extra_forbidden":
        message = unknown_key_problem_message(problem, problems, _field_names(table))
        return ConfigError(message, path=path, key=key)
    if problem["type"] == "missing":
        return ConfigError("missing; this key is required", path=path, key=key)
    if problem["type"] == "provider_kind":
        kind = problem["input"].get("kind") if isinstance(problem["input"], Mapping) else None
        message = f"{did_you_mean(str(kind), shape.kinds)}expected one of {sorted(shape.kinds)}"
        return ConfigError(f"{message}, got {kind!r}", path=path, key=f"{key}.kind")
    message = _TOML_TYPES.get(problem["type"]) or problem["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if problem["type"] != "value_error":
        message += f", got {shown_input(loc, problem['input'])}"
    description = _description(table, loc)
    return ConfigError(f"{message} ({description})" if description else message, path=path, key=key)


# Pydantic names Python types; the file's author thinks in TOML's.
_TOML_TYPES = {
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "list_type": "expected an array",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
}


_SECRET_TABLES = frozenset({"headers"})
"""Tables whose values are credentials more often than not (``Authorization``, tokens)."""
NOT_SHOWN = "a value not shown here (it may be a credential)"


def shown_input(loc: tuple[int | str, ...], value: Any) -> str:
    """The wrong value as a message may repeat it: not at all under a credential's name
    (``api_key_env``, ``headers.Authorization``) or in ``headers``; elsewhere with a URL's
    password and anything shaped like an API key masked."""
    names = [part for part in loc if isinstance(part, str)]
    if any(is_secret_name(name) or name in _SECRET_TABLES for name in names):
        return NOT_SHOWN
    return redacted(repr(shown_url(value) if isinstance(value, str) else value))


def _key(loc: tuple[int | str, ...]) -> str:
    """``routes.chat.tiers[0].threshold`` from pydantic's location tuple."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key


def _description(table: Any, loc: tuple[int | str, ...]) -> str | None:
    """The description of the field at ``loc`` (``table`` holds it), if it has one."""
    if not loc or not isinstance(loc[-1], str) or not _is_model(table):
        return None
    fields = {field.alias or name: field for name, field in table.model_fields.items()}
    field = fields.get(loc[-1])
    return field.description if field else None


def _field_names(table: Any) -> list[str]:
    """A table's keys as the file spells them (``class``, not the field ``class_``)."""
    if not _is_model(table):
        return []
    return [field.alias or name for name, field in table.model_fields.items()]


def _walk(loc: tuple[int | str, ...], shape: FileShape) -> tuple[Any, tuple[int | str, ...]]:
    """The model of the table holding ``loc``'s last part, and ``loc`` as the file names it.

    Walks fields, mapping values and list items; a provider's kind tag, which pydantic
    puts in the location (``providers.x.langchain.class``), is not in the file, so it
    is dropped.
    """
    node: Any = shape.root
    parent: Any = shape.root
    path: list[int | str] = []
    for part in loc:
        if node == shape.tagged:  # a kind tag: not in the file
            node = shape.kinds[str(part)]
            continue
        parent = node
        path.append(part)
        if _is_model(node):
            fields = {f.alias or n: f for n, f in node.model_fields.items()}
            field = fields.get(str(part))
            node = _optional_member(field.annotation) if field else None
        else:  # dict[str, X] and list[X] hold X
            args = get_args(node)
            node = _optional_member(args[-1]) if args else None
    return parent, tuple(path)


def _is_model(node: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _optional_member(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        return next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation
