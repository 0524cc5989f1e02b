"""Tools and structured output through the router, with the real ``ChatOpenAI`` over HTTP.

What reaches the wire is what a provider judges, so these tests read the request body
the local server received.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from langchain_costrouter import Route, RoutedChatModel, Tier
from langchain_costrouter.checks import PydanticCheck, ToolCallCheck
from langchain_costrouter.errors import InvalidRequestError
from langchain_costrouter.testing import LocalOpenAIServer, Reply, ToolCall
from tests.server_fixtures import openai_chat


class Inner(BaseModel):
    x: int


class Weather(BaseModel):
    """Get the weather."""

    city: str = Field(description="the city")
    inner: Inner


def _router(server: LocalOpenAIServer) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"chat": [openai_chat(server, "gpt-4o-mini")]}, default_task="chat"
    )


def _closed(schema: dict[str, Any]) -> bool:
    """Whether every object of ``schema`` is closed, as OpenAI's strict mode requires."""
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return False
    return all(_closed(value) for value in schema.get("properties", {}).values())


def test_bind_tools_strict_goes_into_the_tools_not_the_request(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script(
        [Reply(tool_calls=[ToolCall("Weather", {"city": "Oslo", "inner": {"x": 1}})])]
    )
    answer = _router(openai_server).bind_tools([Weather], strict=True).invoke("weather in Oslo")
    assert answer.tool_calls[0]["args"] == {"city": "Oslo", "inner": {"x": 1}}
    body = openai_server.requests[-1].body
    assert body is not None and "strict" not in body
    function = body["tools"][0]["function"]
    assert function["strict"] is True
    assert _closed(function["parameters"])


def test_structured_output_by_tool_calling_honours_strict(
    openai_server: LocalOpenAIServer,
) -> None:
    structured = _router(openai_server).with_structured_output(Weather, strict=True)
    assert isinstance(structured.invoke("weather in Oslo"), Weather)
    body = openai_server.requests[-1].body
    assert body is not None
    function = body["tools"][0]["function"]
    assert function["strict"] is True
    assert _closed(function["parameters"])


@pytest.mark.parametrize("include_raw", [False, True])
def test_structured_output_by_json_schema_closes_a_strict_schema(
    openai_server: LocalOpenAIServer, include_raw: bool
) -> None:
    structured = _router(openai_server).with_structured_output(
        Weather, method="json_schema", strict=True, include_raw=include_raw
    )
    out = structured.invoke("weather in Oslo")
    assert isinstance(out["parsed"] if include_raw else out, Weather)
    body = openai_server.requests[-1].body
    assert body is not None
    spec = body["response_format"]["json_schema"]
    assert spec["strict"] is True
    assert _closed(spec["schema"])


def test_structured_output_refuses_a_method_it_does_not_know(
    openai_server: LocalOpenAIServer,
) -> None:
    with pytest.raises(InvalidRequestError, match=r"'tool_calling'.*function_calling, json_mode"):
        _router(openai_server).with_structured_output(Weather, method="tool_calling")  # type: ignore[arg-type]
    assert openai_server.request_count() == 0


def test_structured_output_cut_by_the_output_cap_is_billed(
    openai_server: LocalOpenAIServer,
) -> None:
    """The provider bills an answer cut at ``max_tokens`` even when the client refuses it
    (openai's ``LengthFinishReasonError`` from a ``json_schema`` parse): the failed
    attempt is priced on the usage that came with it, never recorded as $0."""
    from langchain_costrouter.ledger import InMemoryLedger

    ledger = InMemoryLedger()
    router = RoutedChatModel(
        routes={"chat": [openai_chat(openai_server, "gpt-4o-mini")]},
        default_task="chat",
        ledger=ledger,
    )
    openai_server.script([Reply('{"city": "Os', finish_reason="length")])
    structured = router.with_structured_output(Weather, method="json_schema")
    with pytest.raises(Exception, match="length") as raised:
        structured.invoke("weather in Oslo", max_tokens=5)
    assert "API key" not in str(raised.value)
    ledger.flush()
    (row,) = ledger.rows()
    assert row.input_tokens > 0 and row.output_tokens > 0
    assert row.cost_usd is not None and row.cost_usd > 0
    assert row.accepted is False


def _cascade(server: LocalOpenAIServer, check: Any) -> RoutedChatModel:
    cheap, strong = openai_chat(server, "gpt-4o-mini"), openai_chat(server, "gpt-4o")
    route = Route(tiers=(Tier.of(cheap, check=check), Tier.of(strong)))
    return RoutedChatModel(routes={"chat": route}, default_task="chat")


def test_an_escalated_tier_gets_the_tools_and_their_options(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Reply(tool_calls=[ToolCall("Nope", {})])], model="gpt-4o-mini")
    oslo = ToolCall("Weather", {"city": "Oslo", "inner": {"x": 1}})
    openai_server.script([Reply(tool_calls=[oslo])], model="gpt-4o")
    router = _cascade(openai_server, ToolCallCheck([Weather]))
    bound = router.bind_tools([Weather], tool_choice="any", parallel_tool_calls=False)

    answer = bound.invoke("weather in Oslo")

    assert answer.response_metadata["model_name"] == "gpt-4o"
    assert answer.tool_calls[0]["args"] == {"city": "Oslo", "inner": {"x": 1}}
    for request in openai_server.requests:
        assert request.body is not None
        assert [tool["function"]["name"] for tool in request.body["tools"]] == ["Weather"]
        assert request.body["tool_choice"] == "required"
        assert request.body["parallel_tool_calls"] is False


@pytest.mark.parametrize("method", ["function_calling", "json_mode", "json_schema"])
def test_structured_output_the_cheap_tier_cannot_parse_is_answered_by_the_next(
    openai_server: LocalOpenAIServer, method: str
) -> None:
    broken, whole = '{"city": "Oslo", "inner"', {"city": "Oslo", "inner": {"x": 1}}
    if method == "function_calling":
        cheap, strong = (
            Reply(tool_calls=[ToolCall("Weather", broken)]),
            Reply(tool_calls=[ToolCall("Weather", whole)]),
        )
    else:
        cheap, strong = Reply(broken), Reply(json.dumps(whole))
    openai_server.script([cheap], model="gpt-4o-mini")
    openai_server.script([strong], model="gpt-4o")
    structured = _cascade(openai_server, PydanticCheck(Weather)).with_structured_output(
        Weather,
        method=method,  # type: ignore[arg-type]
        include_raw=True,
    )

    out = structured.invoke("weather in Oslo")

    assert out["parsed"] == Weather(city="Oslo", inner=Inner(x=1))
    assert out["parsing_error"] is None
    attempts = out["raw"].response_metadata["costrouter"]["attempts"]
    assert [a["model"] for a in attempts] == ["gpt-4o-mini", "gpt-4o"]
    assert attempts[0]["reason"].startswith("escalated")
    assert openai_server.requests[0].body == {
        **openai_server.requests[1].body,  # type: ignore[dict-item]
        "model": "gpt-4o-mini",
    }
