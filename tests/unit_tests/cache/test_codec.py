"""Cached answers round-trip exactly as JSON, and nothing else decodes."""

from __future__ import annotations

import dataclasses
import json
import pickle
from datetime import UTC, datetime

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_openai.chat_models.base import _oai_structured_outputs_parser
from pydantic import BaseModel

from langchain_costrouter.cache import CacheDecodeError, decode_message, encode_message
from langchain_costrouter.cache.codec import CacheEncodeError


class Person(BaseModel):
    name: str
    age: int


def tool_calling_answer() -> AIMessage:
    return AIMessage(
        content=[{"type": "text", "text": "Checking."}],
        tool_calls=[
            {"name": "get_weather", "args": {"city": "Oslo", "days": [1, 2]}, "id": "call_a"},
            {"name": "get_time", "args": {}, "id": "call_b"},
        ],
        invalid_tool_calls=[],
        usage_metadata={
            "input_tokens": 100,
            "output_tokens": 20,
            "total_tokens": 120,
            "input_token_details": {"cache_read": 64},
            "output_token_details": {"reasoning": 5},
        },
        response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "tool_calls"},
        additional_kwargs={"refusal": None},
        id="run-123",
        name="assistant",
    )


def test_tool_calls_usage_and_metadata_round_trip_exactly() -> None:
    original = tool_calling_answer()
    decoded = decode_message(encode_message(original))
    assert decoded.id is None  # a replay gets the id of its own run
    assert decoded == original.model_copy(update={"id": None})
    assert decoded.tool_calls == original.tool_calls
    assert decoded.usage_metadata == original.usage_metadata


def test_structured_output_is_rebuilt_by_langchain_parsers() -> None:
    parsed = Person(name="Ada", age=36)
    original = AIMessage(content=parsed.model_dump_json(), additional_kwargs={"parsed": parsed})
    decoded = decode_message(encode_message(original))
    assert _oai_structured_outputs_parser(decoded, Person) == parsed
    assert decoded.content == original.content


def test_a_complete_chunk_is_stored_as_a_plain_message() -> None:
    chunk = AIMessageChunk(content="Hel") + AIMessageChunk(
        content="lo", usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    )
    decoded = decode_message(encode_message(chunk))
    assert type(decoded) is AIMessage
    assert decoded.content == "Hello"
    assert decoded.usage_metadata == chunk.usage_metadata


def test_the_document_holds_the_fields_model_dump_keeps() -> None:
    original = tool_calling_answer()
    kept = original.model_dump(exclude_defaults=True)
    expected = {name: value for name, value in kept.items() if name not in ("type", "id")}
    assert json.loads(encode_message(original))["data"] == expected


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_a_dataclass_in_metadata_is_stored_as_its_fields_as_model_dump_did() -> None:
    answer = AIMessage(content="ok", response_metadata={"point": Point(1, 2)})
    decoded = decode_message(encode_message(answer))
    assert decoded.response_metadata == {"point": {"x": 1, "y": 2}}


def test_values_are_plain_json() -> None:
    document = json.loads(encode_message(tool_calling_answer()))
    assert document["v"] == 1
    assert document["type"] == "ai"


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\xffgarbage",
        b"[1, 2]",
        b'{"v": 99, "type": "ai", "data": {}}',
        b'{"v": 1, "type": "human", "data": {"content": "x"}}',
        b'{"v": 1, "type": "ai", "data": {"content": 5}}',
        pickle.dumps(AIMessage("x")),
    ],
)
def test_anything_else_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(CacheDecodeError):
        decode_message(raw)


def test_json_nested_past_every_parsers_limit_is_a_decode_error() -> None:
    nested = b'{"v": 1, "type": "ai", "data": {"content": "x", "response_metadata": {"a": '
    with pytest.raises(CacheDecodeError, match="nested too deeply"):
        decode_message(nested + b"[" * 5000 + b"]" * 5000 + b"}}}")


def _with_record(record: object) -> bytes:
    data = {"content": "x", "response_metadata": {"costrouter": record}}
    return json.dumps({"v": 1, "type": "ai", "data": data}).encode()


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("a string", "not an object"),
        ({"attempts": 5}, "attempts"),
        ({"attempts": [{"accepted": True, "tier": "0"}]}, "attempts"),
        ({"attempts": ["x"]}, "attempts"),
        ({"cost_usd": "0.5"}, "cost_usd"),
        ({"cost_usd": -1.0}, "cost_usd"),
        ({"baseline_cost_usd": 1e300}, "baseline_cost_usd"),
        ({"baseline_cost_usd": True}, "baseline_cost_usd"),
        ({"savings_usd": {"cache": "lots"}}, "savings_usd"),
        ({"savings_usd": [1.0]}, "savings_usd"),
        ({"record_version": "2"}, "record_version"),
    ],
)
def test_an_answer_whose_costrouter_record_is_unusable_is_a_decode_error(
    record: object, problem: str
) -> None:
    with pytest.raises(CacheDecodeError, match=f"costrouter record is unusable: .*{problem}"):
        decode_message(_with_record(record))


def test_a_sound_record_and_no_record_decode() -> None:
    record = {
        "record_version": 2,
        "cost_usd": 0.25,
        "baseline_cost_usd": 1,
        "savings_usd": {"routing": -0.5, "cache": None},
        "attempts": [{"accepted": True, "tier": 1}, {"accepted": False}],
    }
    assert decode_message(_with_record(record)).response_metadata["costrouter"] == record
    assert decode_message(_with_record(None)).content == "x"


def test_keys_orjson_refuses_are_written_by_json() -> None:
    original = AIMessage(content="ok", response_metadata={"scores": {1: 0.5, 2: 0.25}})
    decoded = decode_message(encode_message(original))
    assert decoded.response_metadata == {"scores": {"1": 0.5, "2": 0.25}}  # as json writes them


def test_a_value_json_cannot_write_is_still_refused() -> None:
    answer = AIMessage(content="ok", response_metadata={"at": datetime(2026, 1, 1, tzinfo=UTC)})
    with pytest.raises(CacheEncodeError, match="cannot be cached as JSON"):
        encode_message(answer)
