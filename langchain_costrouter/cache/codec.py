"""JSON encoding of cached answers. Never pickle, never ``langchain_core.load``.

A shared store (Redis, a directory other processes write) is untrusted input:
unpickling or ``load.loads`` on it can run code. A cached answer is therefore plain
JSON that can only ever become an `AIMessage`, validated by pydantic.

Everything an answer carries survives the trip: content and content blocks,
``tool_calls`` (ids included), ``invalid_tool_calls``, ``usage_metadata``,
``response_metadata`` and ``additional_kwargs``. A pydantic object in
``additional_kwargs["parsed"]`` (OpenAI structured output) is stored as its JSON
dict, which LangChain's structured-output parsers accept and rebuild into the same
object.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from langchain_costrouter.metadata import stored_record_problem

CODEC_VERSION = 1

# Stream plumbing of a chunk, and the message id: a replayed answer must get the id
# of its new run (LangGraph's add_messages would otherwise overwrite the original).
_NOT_STORED = frozenset({"type", "tool_call_chunks", "chunk_position", "id"})

_ORJSON_AS_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
"""What ``json`` cannot write, orjson must not write either: it goes to `_to_json`."""


class CacheDecodeError(ValueError):
    """A stored entry is not a valid cached answer (corrupt, foreign or outdated)."""


class CacheEncodeError(TypeError):
    """An answer holds a value with no JSON form, so it cannot be cached."""


def encode_message(message: AIMessage, key: str | None = None) -> bytes:
    """Encode an answer (an `AIMessage` or a complete aggregated chunk) as JSON bytes.

    ``key``, the cache key the entry is written under, is stored in it (``"k"``), so
    that `decode_message` can refuse an entry found under another key: in a shared
    store, another prompt's valid entry copied there would otherwise be served.

    orjson writes it (every routed call that misses the cache stores its answer, and
    the standard library takes some thirty times longer); what orjson refuses goes
    through ``json``. Like JSON itself, a NaN or infinite float comes back as None.

    Raises:
        CacheEncodeError: a metadata value has no JSON form.
    """
    document: dict[str, Any] = {"v": CODEC_VERSION, "type": "ai", "data": _stored_data(message)}
    if key is not None:
        document["k"] = key
    try:
        return orjson.dumps(document, default=_to_json, option=_ORJSON_AS_JSON)
    except orjson.JSONEncodeError:
        pass  # orjson refuses non-str keys and integers past 64 bits; json takes them
    try:
        return json.dumps(document, default=_to_json).encode()
    except (TypeError, ValueError) as error:
        raise CacheEncodeError(f"answer cannot be cached as JSON: {error}") from error


def decode_message(raw: bytes | str, key: str | None = None) -> AIMessage:
    """Decode bytes written by `encode_message` into a fresh `AIMessage`.

    With ``key``, the entry must have been written for that key (entries written
    without one, before keys were stored, are refused too and so written again).

    Raises:
        CacheDecodeError: the bytes are not a cached answer of this codec version, or
            not the one of ``key``.
    """
    try:
        document = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise CacheDecodeError(f"entry is not JSON: {error}") from error
    if key is not None and isinstance(document, dict) and document.get("k") != key:
        raise CacheDecodeError("entry was written for another key (or names none)")
    return message_from_document(document)


def parse_json(raw: bytes | str) -> Any:
    """Parse JSON with orjson (a hit's largest cost otherwise), json for what it rejects.

    orjson refuses the NaN/Infinity literals ``json.dumps`` may have written into
    metadata; those few entries are read by the standard library instead. What neither
    reads (nesting deeper than orjson's limit, which the standard library meets as a
    RecursionError) raises ValueError, like any other bad JSON.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error


def message_from_document(document: Any) -> AIMessage:
    """Validate a decoded JSON document (``{"v", "type", "data"}``) into an `AIMessage`.

    The router's record on the answer (``response_metadata["costrouter"]``) must be
    sound too: a hit's ledger row is made from it (`metadata.stored_record_problem`).

    Raises:
        CacheDecodeError: the document is not a cached answer of this codec version.
    """
    if not isinstance(document, dict) or document.get("v") != CODEC_VERSION:
        raise CacheDecodeError("entry has an unknown codec version")
    if document.get("type") != "ai" or not isinstance(document.get("data"), dict):
        raise CacheDecodeError("entry is not an AI message")
    try:
        message = AIMessage.model_validate(document["data"])
    except ValidationError as error:
        raise CacheDecodeError(f"entry does not validate as an AIMessage: {error}") from error
    if (problem := stored_record_problem(message.response_metadata.get("costrouter"))) is not None:
        raise CacheDecodeError(f"entry's costrouter record is unusable: {problem}")
    return message


def message_document(message: AIMessage) -> dict[str, Any]:
    """The JSON document `encode_message` writes, as a dict (for embedding in lists)."""
    decoded: dict[str, Any] = json.loads(encode_message(message))
    return decoded


def _stored_data(message: AIMessage) -> dict[str, Any]:
    """The message's fields that differ from their defaults, as they are.

    What ``model_dump(exclude_defaults=True)`` keeps, without its copy of every nested
    value (orjson reads them in place; `_to_json` converts what pydantic would have):
    on a routed miss that copy cost more than the encoding. Fields left at their
    defaults (no tool calls, no name...) are not written: each field a hit does not
    have to validate is time saved on every hit.
    """
    data: dict[str, Any] = {}
    for name, default in _fields_of(type(message)):
        value = getattr(message, name)
        if default is PydanticUndefined or value != default:
            data[name] = value
    return data


_FIELDS: dict[type[AIMessage], tuple[tuple[str, Any], ...]] = {}


def _fields_of(kind: type[AIMessage]) -> tuple[tuple[str, Any], ...]:
    """A message class's stored fields with their defaults (PydanticUndefined: required)."""
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(
            (name, field.get_default(call_default_factory=True))
            for name, field in kind.model_fields.items()
            if name not in _NOT_STORED
        )
    return fields


def _to_json(value: Any) -> Any:
    """What orjson and ``json`` leave to us: pydantic models and dataclasses, as dicts."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__qualname__} is not JSON serialisable")
