"""What a routed call may send, checked before any request reaches the provider (HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import InvalidRequestError
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
