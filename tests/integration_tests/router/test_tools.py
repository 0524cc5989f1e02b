"""Tools and structured output through the router, with the real ``ChatOpenAI`` over HTTP.

What reaches the wire is what a provider judges, so these tests read the request body
the local server received.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from langchain_costrouter import RoutedChatModel
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
