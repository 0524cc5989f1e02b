"""JSON mode and JSON schema reach each child of a route in the child's own dialect.

The OpenAI tier is the real ``ChatOpenAI`` against the local server (its request body is
what a provider judges); the other tiers are in-process models that keep the kwargs of
every request, so each child's share of one route table is asserted side by side.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from pydantic import BaseModel, Field

from langchain_costrouter import Route, RoutedChatModel, Tier
from langchain_costrouter.checks import PydanticCheck
from langchain_costrouter.errors import InvalidRequestError, StructuredOutputUnsupportedError
from langchain_costrouter.openai_compat import MaxTokensChatOpenAI
from langchain_costrouter.testing import LocalOpenAIServer, Reply, ScriptedChatModel
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.UnknownPriceWarning")


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    degrees: int


OSLO = {"city": "Oslo", "degrees": 4}


class _Recording(ScriptedChatModel):
    """Keeps the kwargs of every request it is sent."""

    sent: list[dict[str, Any]] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.sent.append(kwargs)
        return super()._generate(messages, *args, **kwargs)

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        self.sent.append(kwargs)
        return super()._stream(messages, *args, **kwargs)


class _OllamaStyle(_Recording):
    """Structured output as ``ChatOllama`` does it: ``format="json"`` or the schema itself."""

    def with_structured_output(
        self, schema: Any = None, *, method: str = "function_calling", **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        if method == "json_mode":
            bound = self.bind(format="json", ls_structured_output_format={"schema": schema})
        elif method == "json_schema":
            bound = self.bind(format=convert_to_json_schema(schema))
        else:
            raise ValueError(f"Unrecognized method argument: {method!r}")
        return bound | JsonOutputParser()


class _ToolsOnly(_Recording):
    """Binds tools but has no structured output of its own: langchain-core's default
    ``with_structured_output`` does every method by tool calling."""

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        native = [convert_to_openai_tool(tool)["function"] for tool in tools]
        return self.bind(tools=native, tool_choice={"type": tool_choice}, **kwargs)

    def with_structured_output(  # type: ignore[override]
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        return BaseChatModel.with_structured_output(self, schema, include_raw=include_raw, **kwargs)


def _router(*tiers: Tier) -> RoutedChatModel:
    return RoutedChatModel(routes={"weather": Route(tiers=tiers)}, default_task="weather")


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize("method", ["json_mode", "json_schema"])
def test_each_child_of_a_route_gets_structured_output_in_its_dialect(
    openai_server: LocalOpenAIServer, method: str, streamed: bool
) -> None:
    openai_server.script([Reply('{"city": "Oslo"')])  # cut short: the check escalates
    ollama = _OllamaStyle(model="llama3", provider="ollama", answers=["no json"])
    scripted = _Recording(model="gpt-4o", answers=[json.dumps(OSLO)])
    router = _router(
        Tier.of(openai_chat(openai_server, "gpt-4o-mini"), check=PydanticCheck(Weather)),
        Tier.of(ollama, check=PydanticCheck(Weather)),
        Tier.of(scripted),
    )

    structured = router.with_structured_output(Weather, method=method)  # type: ignore[arg-type]
    out = list(structured.stream("in Oslo"))[-1] if streamed else structured.invoke("in Oslo")

    assert out == Weather(**OSLO)
    body = openai_server.requests[-1].body
    assert body is not None
    (sent_ollama,), (sent_scripted,) = ollama.sent, scripted.sent
    assert "response_format" not in sent_ollama
    if method == "json_mode":
        assert body["response_format"] == {"type": "json_object"}
        assert sent_ollama["format"] == "json"
        assert sent_scripted["response_format"] == {"type": "json_object"}
    else:
        assert body["response_format"]["json_schema"]["schema"]["required"] == ["city", "degrees"]
        assert sent_ollama["format"]["required"] == ["city", "degrees"]
        assert sent_ollama["format"]["title"] == "Weather"
        assert sent_scripted["response_format"]["type"] == "json_schema"
    assert "ls_structured_output_format" not in sent_ollama


def test_a_child_that_answers_by_tool_call_is_read_from_its_tool_call(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Reply("{}")])
    call = {"name": "Weather", "args": OSLO, "id": "c1"}
    tools_only = _ToolsOnly(
        model="claude", provider="anthropic", answers=[AIMessage("", tool_calls=[call])]
    )
    router = _router(
        Tier.of(openai_chat(openai_server, "gpt-4o-mini"), check=PydanticCheck(Weather)),
        Tier.of(tools_only),
    )

    out = router.with_structured_output(Weather, method="json_schema", include_raw=True).invoke("x")

    assert out["parsed"] == Weather(**OSLO) and out["parsing_error"] is None
    assert openai_server.requests[-1].body["response_format"]["type"] == "json_schema"  # type: ignore[index]
    (sent,) = tools_only.sent
    assert [tool["name"] for tool in sent["tools"]] == ["Weather"]
    assert sent["tool_choice"] == {"type": "any"}
    assert "response_format" not in sent


def test_an_openai_compatible_subclass_sends_response_format_as_it_is(
    openai_server: LocalOpenAIServer,
) -> None:
    """`openai_compat`'s client for servers that read ``max_tokens`` is still OpenAI's."""
    child = MaxTokensChatOpenAI(
        model="m", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat")
    openai_server.script([Reply(json.dumps(OSLO))])

    assert router.with_structured_output(Weather, method="json_schema").invoke("x") == Weather(
        **OSLO
    )
    body = openai_server.requests[-1].body
    assert body is not None and body["response_format"]["json_schema"]["name"] == "Weather"


class _NoStructuredOutput(GenericFakeChatModel):
    """langchain-core's fake chat model: no tools, no structured output."""


def _with_a_fake_tier(server: LocalOpenAIServer, *, fake_first: bool = False) -> RoutedChatModel:
    fake = _NoStructuredOutput(messages=iter([AIMessage("{}")]))
    tiers = (Tier.of(openai_chat(server, "gpt-4o-mini")), Tier.of(fake))
    return RoutedChatModel(
        routes={
            "chat": [openai_chat(server, "gpt-4o-mini")],
            "weather": Route(tiers=tiers[::-1] if fake_first else tiers),
        },
        default_task="chat",
    )


@pytest.mark.parametrize("method", ["json_mode", "json_schema"])
def test_a_child_without_the_method_is_refused_when_it_is_bound(
    openai_server: LocalOpenAIServer, method: str
) -> None:
    router = _with_a_fake_tier(openai_server)

    with pytest.raises(StructuredOutputUnsupportedError) as raised:
        router.with_structured_output(Weather, method=method)  # type: ignore[arg-type]

    error = raised.value
    assert isinstance(error, InvalidRequestError)
    assert (error.task, error.method) == ("weather", method)
    assert error.model.endswith("/generic-fake-chat-model")
    message = str(error)
    assert "'weather'" in message and "_NoStructuredOutput" in message
    assert "method='function_calling'" in message
    assert openai_server.request_count() == 0


def test_a_response_format_bound_by_hand_is_checked_when_bound_or_reached(
    openai_server: LocalOpenAIServer,
) -> None:
    """``bind`` checks every child of the table; a call's own ``response_format`` is
    translated, or refused, as each child is reached."""
    with pytest.raises(StructuredOutputUnsupportedError, match="'weather'"):
        _with_a_fake_tier(openai_server).bind(response_format={"type": "json_object"})
    router = _with_a_fake_tier(openai_server, fake_first=True)
    with pytest.raises(StructuredOutputUnsupportedError, match="_NoStructuredOutput"):
        router.invoke("x", task="weather", response_format={"type": "json_object"})
    assert openai_server.request_count() == 0


def test_tool_calling_is_bound_as_before_whatever_the_children(
    openai_server: LocalOpenAIServer,
) -> None:
    """Only the JSON methods send ``response_format``: tool calling is not checked here."""
    router = _with_a_fake_tier(openai_server)
    assert router.with_structured_output(Weather) is not None
    assert router.bind(temperature=0.0) is not None
