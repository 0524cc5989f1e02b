"""CostRouterLLMCache behind the real ChatOpenAI: what it keeps, and for how long."""

from __future__ import annotations

import math

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter.cache import CostRouterLLMCache
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.testing import LocalOpenAIServer, Reply, ToolCall
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.services


def _model(server: LocalOpenAIServer, url: str) -> ChatOpenAI:
    return openai_chat(server, "gpt-4o-mini", cache=CostRouterLLMCache.from_url(url))


@pytest.mark.parametrize("ttl", [math.inf, math.nan, 0, -5.0])
def test_a_ttl_that_is_no_lifetime_is_a_config_error(cache_url: str, ttl: float) -> None:
    # Before: Redis raised OverflowError / ValueError out of the model's call, after the
    # provider had answered (and was paid); 0 or a negative ttl kept no entry at all.
    with pytest.raises(ConfigError, match="positive number of seconds"):
        CostRouterLLMCache.from_url(cache_url, ttl=ttl)


def test_an_entry_lives_for_its_ttl(cache_url: str, openai_server: LocalOpenAIServer) -> None:
    model = openai_chat(openai_server, cache=CostRouterLLMCache.from_url(cache_url, ttl=60))
    first, second = model.invoke("Hello"), model.invoke("Hello")
    assert second.content == first.content and openai_server.request_count() == 1


@pytest.mark.parametrize(
    "broken",
    [Reply(""), Reply(None, tool_calls=[ToolCall("get_weather", arguments='{"city": "Os')])],
    ids=["empty", "invalid-tool-call"],
)
def test_an_answer_the_router_would_not_replay_is_not_kept(
    cache_url: str, openai_server: LocalOpenAIServer, broken: Reply
) -> None:
    # An empty answer, or one whose tool call does not parse, was replayed for ever:
    # every later call of the same prompt got it back without asking the model again.
    openai_server.script([broken, Reply("It is sunny in Oslo.")])
    model = _model(openai_server, cache_url)
    model.invoke("Weather in Oslo?")
    again = model.invoke("Weather in Oslo?")
    assert again.content == "It is sunny in Oslo."
    assert model.invoke("Weather in Oslo?").content == "It is sunny in Oslo."
    assert openai_server.request_count() == 2


def test_a_credential_in_the_model_or_the_call_does_not_reach_the_key(
    cache_url: str, openai_server: LocalOpenAIServer
) -> None:
    # LangChain's llm_string holds a model's default headers as they are (a gateway's
    # Authorization header) and a call's kwargs: a key made from them changed with the
    # credential, so rotating it emptied the cache, and two services never shared it.
    cache = CostRouterLLMCache.from_url(cache_url)
    for key in ("sk-first-0123456789abcdef", "sk-second-0123456789abcdef"):
        headers = {"Authorization": f"Bearer {key}", "X-Team": "search"}
        model = openai_chat(openai_server, "gpt-4o-mini", cache=cache, default_headers=headers)
        model.invoke("Hello")
        model.invoke("Hello", extra_headers={"api-key": key})
    assert openai_server.request_count() == 2  # one per distinct call, not per credential
    other_team = {"Authorization": "Bearer sk-first-0123456789abcdef", "X-Team": "ads"}
    openai_chat(openai_server, "gpt-4o-mini", cache=cache, default_headers=other_team).invoke(
        "Hello"
    )
    assert openai_server.request_count() == 3  # what is not a credential still counts
