"""Pytest plugin: the OpenAI- and Anthropic-compatible test servers (loaded by
tests/conftest.py).

LangChain's standard suites build their model from ``chat_model_params``, a property read
outside any fixture, so the main server is reachable without fixtures too:
``get_test_server()`` starts it on first use and returns the same instance for the rest of
the session. Tests that script the server take the ``openai_server`` fixture, which hands it
over clean and cleans it again afterwards, so scripts never leak into the next test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter.testing import LocalAnthropicServer, LocalOpenAIServer

if TYPE_CHECKING:
    from langchain_anthropic import ChatAnthropic


@lru_cache(maxsize=1)
def get_test_server() -> LocalOpenAIServer:
    """The session's main test server, started on first use."""
    return LocalOpenAIServer().start()


@lru_cache(maxsize=1)
def get_second_test_server() -> LocalOpenAIServer:
    """A second, independent server: another provider for failover tests."""
    return LocalOpenAIServer().start()


@lru_cache(maxsize=1)
def get_anthropic_test_server() -> LocalAnthropicServer:
    """The session's Anthropic-compatible server, started on first use."""
    return LocalAnthropicServer().start()


@pytest.fixture(scope="session", autouse=True)
def _stop_test_servers() -> Iterator[None]:
    """Stop whichever test servers the session started."""
    yield
    for getter in (get_test_server, get_second_test_server, get_anthropic_test_server):
        if getter.cache_info().currsize:
            getter().stop()


@pytest.fixture
def openai_server() -> Iterator[LocalOpenAIServer]:
    """The main test server, reset before and after the test."""
    yield from _clean(get_test_server())


@pytest.fixture
def second_openai_server() -> Iterator[LocalOpenAIServer]:
    """The second test server, reset before and after the test."""
    yield from _clean(get_second_test_server())


@pytest.fixture
def anthropic_server() -> Iterator[LocalAnthropicServer]:
    """The Anthropic-compatible test server, reset before and after the test."""
    yield from _clean(get_anthropic_test_server())


_Server = TypeVar("_Server", LocalOpenAIServer, LocalAnthropicServer)


def _clean(server: _Server) -> Iterator[_Server]:
    server.reset()
    yield server
    server.reset()


def dead_port() -> int:
    """A loopback port nobody listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def dead_url() -> str:
    """A loopback base URL nobody listens on: connections are refused at once."""
    return f"http://127.0.0.1:{dead_port()}/v1"


@pytest.fixture
def raw_http() -> Iterator[httpx.Client]:
    """A plain HTTP client for wire-level checks (one per test: each costs ~100 ms of TLS setup)."""
    with httpx.Client(timeout=5) as client:
        yield client


def openai_chat(server: LocalOpenAIServer, model: str = "m", **kwargs: Any) -> ChatOpenAI:
    """The real ``ChatOpenAI`` on ``server``: no retries, streamed usage, overridable."""
    params = {"api_key": "test", "max_retries": 0, "stream_usage": True, **kwargs}
    return ChatOpenAI(model=model, base_url=server.base_url, **params)


def anthropic_chat(
    server: LocalAnthropicServer, model: str = "claude-haiku-4-5", **kwargs: Any
) -> ChatAnthropic:
    """The real ``ChatAnthropic`` (langchain-anthropic, imported here: only its tests need
    it) on ``server``: no retries, a dummy key, overridable."""
    from langchain_anthropic import ChatAnthropic

    params = {"api_key": "test", "max_retries": 0, "max_tokens": 256, **kwargs}
    return ChatAnthropic(model=model, base_url=server.base_url, **params)


def post_raw(
    http: httpx.Client,
    server: LocalOpenAIServer,
    body: dict[str, Any] | bytes,
    path: str = "/v1/chat/completions",
) -> httpx.Response:
    """POST a JSON body (or raw bytes) to ``server`` below its root, bypassing the SDK."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = server.base_url.removesuffix("/v1") + path
    return http.post(url, content=content, headers={"Content-Type": "application/json"})
