"""What a routed call may send, checked before any request reaches the provider (HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import ConfigError, InvalidRequestError
from langchain_costrouter.testing import LocalOpenAIServer
from tests.server_fixtures import openai_chat

CALLS: dict[str, Callable[[RoutedChatModel], object]] = {
    "invoke": lambda router: router.invoke("hello", task="chat", n=2),
    "stream": lambda router: list(router.stream("hello", task="chat", n=2)),
    "bind": lambda router: router.bind(n=2).invoke("hello", task="chat"),
}


@pytest.mark.parametrize("how", list(CALLS))
def test_n_above_one_is_refused_before_the_provider_is_paid(
    openai_server: LocalOpenAIServer, how: str
) -> None:
    router = RoutedChatModel(routes={"chat": [openai_chat(openai_server, "gpt-4o-mini")]})
    with pytest.raises(InvalidRequestError, match=r"n=2: a routed call returns one answer"):
        CALLS[how](router)
    assert openai_server.request_count() == 0
    assert router.invoke("hello", task="chat", n=1).content  # one answer is fine


@pytest.mark.filterwarnings("ignore:Parameters {'n'} should be specified explicitly")
@pytest.mark.parametrize("asks", [{"n": 2}, {"model_kwargs": {"n": 3}}])
def test_a_child_built_to_ask_for_several_answers_is_refused_at_build(
    openai_server: LocalOpenAIServer, asks: dict[str, object]
) -> None:
    child = openai_chat(openai_server, "gpt-4o-mini", **asks)
    with pytest.raises(ConfigError, match=r"routes\.chat.*answers per call") as raised:
        RoutedChatModel(routes={"chat": [child]})
    assert "Build it without n" in str(raised.value)
    assert openai_server.request_count() == 0
    assert RoutedChatModel(routes={"chat": [openai_chat(openai_server, "m", n=1)]})
