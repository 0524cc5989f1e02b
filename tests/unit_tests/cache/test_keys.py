"""Canonical keys: every anchor's wrong-answer bug is a test that two requests differ."""

from __future__ import annotations

import subprocess
import sys
from typing import TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, SecretStr

from langchain_costrouter.cache import EXACT, LENIENT, CacheRequest, Normalization
from tests.unit_tests.cache.support import key_in_fresh_process, request


class Answer(BaseModel):
    """A short answer."""

    text: str


class AnswerWithSource(BaseModel):
    """A short answer with its source."""

    text: str
    source: str


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return city


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return city


def with_params(**params: object) -> CacheRequest:
    return request(params={"temperature": 0.0, **params})


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (with_params(temperature=0.0), with_params(temperature=0.7)),
        (with_params(), with_params(top_p=0.5)),
        (with_params(stop=["\n"]), with_params(stop=["."])),
        (with_params(tools=[get_weather]), with_params(tools=[get_weather, get_time])),
        (with_params(tools=[get_weather]), with_params(tools=[get_time])),
        (with_params(tool_choice="auto"), with_params(tool_choice="get_weather")),
        (with_params(response_format=Answer), with_params(response_format=AnswerWithSource)),
        (with_params(extra_body={"top_k": 5}), with_params(extra_body={"top_k": 6})),
        (request(namespace="tenant-a"), request(namespace="tenant-b")),
        (request(task="chat"), request(task="classification")),
        (request(policy_version="1"), request(policy_version="2")),
        (
            request(messages=[SystemMessage("Be brief."), HumanMessage("Hi")]),
            request(messages=[SystemMessage("Be verbose."), HumanMessage("Hi")]),
        ),
        (
            request(messages=[HumanMessage("Hi")]),
            request(messages=[SystemMessage("x"), HumanMessage("Hi")]),
        ),
        (
            request(messages=[HumanMessage("Hi", name="alice")]),
            request(messages=[HumanMessage("Hi", name="bob")]),
        ),
        (request("Is it spam?"), request("is it SPAM?")),
    ],
)
def test_anything_that_shapes_the_answer_changes_the_key(
    first: CacheRequest, second: CacheRequest
) -> None:
    assert first.key != second.key


def test_tool_call_ids_and_tool_results_are_keyed() -> None:
    def conversation(call_id: str, result: str) -> CacheRequest:
        call = AIMessage(
            "", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": call_id}]
        )
        return request(
            messages=[HumanMessage("Weather?"), call, ToolMessage(result, tool_call_id=call_id)]
        )

    base = conversation("call_1", "sunny")
    assert base.key != conversation("call_2", "sunny").key
    assert base.key != conversation("call_1", "rain").key


def test_message_ids_do_not_change_the_key() -> None:
    first = request(messages=[HumanMessage("Hi", id="run-1")])
    second = request(messages=[HumanMessage("Hi", id="run-2")])
    assert first.key == second.key


def test_key_is_versioned_sha256() -> None:
    key = request().key
    prefix, digest = key.split(":")
    assert prefix == "v2"
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_equal_numbers_and_param_order_give_one_key() -> None:
    assert with_params(temperature=1, top_p=0.5).key == with_params(top_p=0.5, temperature=1.0).key


def test_how_the_usage_arrives_does_not_change_the_key() -> None:
    """``stream_usage`` (ChatOpenAI's per-call switch) and ``stream_options`` only ask the
    provider to stream its usage: a stream asking for it paid again for an answer its
    invoke had cached (its child's own ``stream_usage`` was already left out)."""
    plain = with_params().key
    assert with_params(stream_usage=True).key == plain
    assert with_params(stream_usage=False).key == plain
    assert with_params(stream_options={"include_usage": True}).key == plain


def test_secrets_never_reach_the_key() -> None:
    secret = "sk-live-very-secret"
    req = with_params(
        api_key=secret,
        default_headers={"Authorization": f"Bearer {secret}"},
        extra={"token": SecretStr(secret)},
        extra_headers={"x-api-key": secret, "X-Goog-Api-Key": secret, "Cookie": secret},
        extra_body={"api-key": secret, "apiKey": secret, "client.secret": secret},
    )
    assert secret not in str(req.payload(Normalization()))
    empty = with_params(default_headers={}, extra={}, extra_headers={}, extra_body={})
    assert req.key == empty.key


@pytest.mark.parametrize("name", ["max_tokens", "token_budget", "keywords", "monkey", "secretary"])
def test_parameters_that_only_look_like_credentials_stay_in_the_key(name: str) -> None:
    assert with_params(**{name: 1}).key != with_params(**{name: 2}).key


def test_unknown_objects_raise_instead_of_leaking_a_repr() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match="Opaque"):
        _ = with_params(client=Opaque()).key


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_raise_instead_of_colliding_with_null(value: float) -> None:
    with pytest.raises(TypeError):  # JSON would write NaN as null: temperature=None's key
        _ = with_params(temperature=value).key


def test_text_and_numbers_orjson_cannot_write_are_still_keyed_exactly() -> None:
    keys = {
        with_params(seed=2**70).key,
        with_params(seed=2**70 + 1).key,
        request("lone surrogate \ud800").key,
        request("lone surrogate \\ud800").key,  # the same text, escaped by hand
    }
    assert len(keys) == 4


def test_schema_classes_are_keyed_by_schema() -> None:
    class Movie(TypedDict):
        title: str

    class Film(TypedDict):
        title: str
        year: int

    assert with_params(response_format=Movie).key != with_params(response_format=Film).key
    payload = with_params(response_format=Answer).payload(Normalization())
    assert "0x" not in str(payload)


def test_default_normalization_strips_outer_whitespace_only() -> None:
    assert request("Hello  world \n").key == request("Hello  world").key
    assert request("Hello  world").key != request("Hello world").key


def test_normalization_is_per_request_and_part_of_the_key() -> None:
    lenient_a = request("Is it  SPAM?", normalization=LENIENT)
    lenient_b = request("is it spam?", normalization=LENIENT)
    assert lenient_a.key == lenient_b.key
    assert request("x", normalization=EXACT).key != request("x").key


FULLWIDTH = "\uff26\uff55\uff4c\uff4c \uff11\uff12"  # "Full 12" in full-width forms


def test_nfkc_folds_compatibility_forms() -> None:
    nfkc = Normalization(unicode="NFKC")
    assert request(FULLWIDTH, normalization=nfkc).key == request("Full 12", normalization=nfkc).key
    assert request(FULLWIDTH).key != request("Full 12").key


def test_text_blocks_are_normalised_and_other_blocks_exact() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    other = {"type": "image_url", "image_url": {"url": "data:image/png;base64,BBBB"}}
    blocks = [{"type": "text", "text": " Describe "}, image]
    same = [{"type": "text", "text": "Describe"}, image]
    assert (
        request(messages=[HumanMessage(blocks)]).key == request(messages=[HumanMessage(same)]).key
    )
    changed = [{"type": "text", "text": "Describe"}, other]
    assert (
        request(messages=[HumanMessage(same)]).key != request(messages=[HumanMessage(changed)]).key
    )


def test_keys_are_identical_in_another_process() -> None:
    here = key_in_fresh_process("Weather in Oslo?")
    code = (
        "from tests.unit_tests.cache.support import key_in_fresh_process;"
        "print(key_in_fresh_process('Weather in Oslo?'))"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here
