"""The test server's injected faults, latency and timeouts, seen through the real clients.

Each fault must surface as the error the OpenAI SDK raises for it in production, and no
fault may leave a server thread hanging after the test.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest

from langchain_costrouter.router._faults import classify
from langchain_costrouter.testing import (
    CONTEXT_LENGTH_EXCEEDED,
    Fault,
    FaultKind,
    LocalOpenAIServer,
    Reply,
)
from tests.server_fixtures import openai_chat, post_raw


def test_rate_limit_sends_retry_after_and_the_client_honours_it(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Fault("429", retry_after=2)])
    with pytest.raises(openai.RateLimitError) as raised:
        openai_chat(openai_server).invoke("x")
    assert raised.value.response.headers["retry-after"] == "2"
    openai_server.script([Fault("429", retry_after=0.05), Reply("after retry")])
    assert openai_chat(openai_server, max_retries=1).invoke("x").content == "after retry"
    assert [entry.outcome for entry in openai_server.requests] == ["429", "429", "reply"]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("400", openai.BadRequestError),
        ("500", openai.InternalServerError),
        ("503", openai.InternalServerError),
    ],
)
def test_http_error_faults_raise_the_sdk_error(
    openai_server: LocalOpenAIServer, kind: FaultKind, error: type[Exception]
) -> None:
    openai_server.script([Fault(kind, message="scripted failure")])
    with pytest.raises(error, match="scripted failure"):
        openai_chat(openai_server).invoke("x")


@pytest.mark.parametrize(
    ("fault", "code", "kind"),
    [
        (Fault("400", message="bad param"), None, "fatal"),
        (Fault("400", code=CONTEXT_LENGTH_EXCEEDED), CONTEXT_LENGTH_EXCEEDED, "context_overflow"),
    ],
)
def test_a_400_sends_the_scripted_code_and_the_router_classifies_it(
    openai_server: LocalOpenAIServer, fault: Fault, code: str | None, kind: str
) -> None:
    """Only an explicit context_length_exceeded may read as an overflow, to SDK and router."""
    openai_server.script([fault])
    with pytest.raises(openai.BadRequestError) as raised:
        openai_chat(openai_server).invoke("x")
    assert raised.value.code == code
    classified = classify(raised.value)
    assert classified is not None and classified.kind == kind


def test_random_faults_can_be_given_as_faults(
    openai_server: LocalOpenAIServer, raw_http: httpx.Client
) -> None:
    openai_server.set_fault_rate(1.0, kinds=[Fault("400", code=CONTEXT_LENGTH_EXCEEDED)])
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    response = post_raw(raw_http, openai_server, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == CONTEXT_LENGTH_EXCEEDED
    assert [entry.source for entry in openai_server.requests] == ["random_fault"]


def test_timeout_fault_outlasts_the_client_and_its_thread_ends() -> None:
    with LocalOpenAIServer() as server:
        server.script([Fault("timeout", seconds=30)])
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            openai_chat(server, timeout=0.3).invoke("x")
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 2
        while _request_threads() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _request_threads()


def test_a_short_hang_is_just_a_slow_answer(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("timeout", seconds=0.2)])
    started = time.monotonic()
    assert (
        openai_chat(openai_server, timeout=5).invoke("Hello").content
        == "Hello! How can I help you today?"
    )
    assert time.monotonic() - started >= 0.2


def test_stopping_the_server_ends_a_hanging_request() -> None:
    server = LocalOpenAIServer().start()
    server.script([Fault("timeout", seconds=30)])
    failures: list[BaseException] = []

    def call() -> None:
        try:
            openai_chat(server, timeout=20).invoke("x")
        except openai.APIError as error:
            failures.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.2)
    server.stop()
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert len(failures) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_bodies_fail_to_parse(openai_server: LocalOpenAIServer, stream: bool) -> None:
    openai_server.script([Fault("malformed")])
    model = openai_chat(openai_server)
    with pytest.raises(json.JSONDecodeError):
        list(model.stream("x")) if stream else model.invoke("x")


def test_dropped_connection_before_the_response(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("drop")])
    with pytest.raises(openai.APIConnectionError):
        openai_chat(openai_server).invoke("x")


def test_dropped_stream_delivers_some_chunks_then_fails(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("drop", after_chunks=2)])
    received: list[str] = []

    def consume() -> None:
        received.extend(
            chunk.text for chunk in openai_chat(openai_server).stream("Tell me about the sea")
        )

    with pytest.raises(openai.APIConnectionError):
        consume()
    assert "".join(received) == "Here is "


def _fault_pattern(http: httpx.Client, server: LocalOpenAIServer, seed: int) -> list[str]:
    server.reset()
    server.set_fault_rate(0.5, kinds=["500", "429"], seed=seed)
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    return [str(post_raw(http, server, body).status_code) for _ in range(20)]


def test_random_fault_rate_is_reproducible_for_a_seed(
    openai_server: LocalOpenAIServer, raw_http: httpx.Client
) -> None:
    first = _fault_pattern(raw_http, openai_server, seed=7)
    assert first == _fault_pattern(raw_http, openai_server, seed=7)
    assert set(first) == {"200", "500", "429"}
    other = _fault_pattern(raw_http, openai_server, seed=8)
    assert other != first
    logged = openai_server.requests
    assert [entry.outcome for entry in logged] == ["reply" if s == "200" else s for s in other]
    assert {entry.source for entry in logged if entry.outcome != "reply"} == {"random_fault"}


def test_latency_per_model_and_concurrent_requests(openai_server: LocalOpenAIServer) -> None:
    # Margins wide enough for a loaded machine: one at a time, four slow calls take 2 s.
    openai_server.set_latency(0.5, model="slow")
    started = time.monotonic()
    openai_chat(openai_server, "fast").invoke("x")
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert len(openai_chat(openai_server, "slow").batch(["a", "b", "c", "d"])) == 4
    assert 0.5 <= time.monotonic() - started < 1.5


def _request_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if "process_request_thread" in thread.name]
