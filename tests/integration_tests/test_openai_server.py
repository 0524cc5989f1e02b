"""The OpenAI-compatible test server, driven by the real ChatOpenAI client and raw httpx."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from langchain_costrouter.testing import (
    Fault,
    LocalOpenAIServer,
    Reply,
    ToolCall,
    count_prompt_tokens,
)


def chat(server: LocalOpenAIServer, model: str = "m", **kwargs: Any) -> ChatOpenAI:
    params = {"api_key": "test", "max_retries": 0, "stream_usage": True, **kwargs}
    return ChatOpenAI(model=model, base_url=server.base_url, **params)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """One raw HTTP client per test (building one per request costs ~100 ms of TLS setup)."""
    with httpx.Client(timeout=5) as client:
        yield client


def post(
    http: httpx.Client,
    server: LocalOpenAIServer,
    body: dict[str, Any] | bytes,
    path: str = "/v1/chat/completions",
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = server.base_url.removesuffix("/v1") + path
    return http.post(url, content=content, headers={"Content-Type": "application/json"})


def stream_all(model: ChatOpenAI, prompt: str) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    chunks = list(model.stream(prompt))
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    return chunks, full


def test_scripted_replies_are_consumed_in_order(openai_server: LocalOpenAIServer) -> None:
    openai_server.script(
        [
            Reply("first"),
            Reply(tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "call_1"}]),
            Fault("500"),
        ]
    )
    model = chat(openai_server)
    assert model.invoke("a").content == "first"
    tool_message = model.invoke("b")
    assert isinstance(tool_message, AIMessage)
    assert tool_message.tool_calls == [
        {"name": "lookup", "args": {"q": "x"}, "id": "call_1", "type": "tool_call"}
    ]
    with pytest.raises(openai.InternalServerError):
        model.invoke("c")
    assert openai_server.pending_script_count() == 0
    assert [entry.source for entry in openai_server.requests] == ["script"] * 3
    assert model.invoke("Hello").content == "Hello! How can I help you today?"


def test_model_scripts_come_before_any_model_scripts(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("anyone")])
    openai_server.script([Reply("strong only")], model="strong")
    assert chat(openai_server, "cheap").invoke("q").content == "anyone"
    assert chat(openai_server, "strong").invoke("q").content == "strong only"
    assert openai_server.request_count("strong") == 1
    assert openai_server.request_count() == 2


def test_responder_decides_and_none_falls_back_to_the_brain(
    openai_server: LocalOpenAIServer,
) -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> Reply | None:
        seen.append(body)
        return Reply(f"echo {body['messages'][-1]['content']}") if body["model"] == "echo" else None

    openai_server.set_responder(responder)
    assert chat(openai_server, "echo").invoke("ping").content == "echo ping"
    assert (
        chat(openai_server, "other").invoke("Hello").content == "Hello! How can I help you today?"
    )
    assert [body["model"] for body in seen] == ["echo", "other"]
    assert [entry.source for entry in openai_server.requests] == ["responder", "brain"]


def test_usage_reports_counted_prompt_tokens_and_scripted_details(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Reply("done", cached_tokens=4, reasoning_tokens=20)])
    message = chat(openai_server).invoke([HumanMessage("How many tokens is this prompt?")])
    entry = openai_server.requests[0]
    assert entry.body is not None
    assert (
        entry.prompt_tokens
        == count_prompt_tokens(entry.body)
        == openai_server.prompt_tokens_total()
    )
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == entry.prompt_tokens
    assert usage["output_tokens"] == 1 + 20  # "done" plus the reasoning tokens
    assert usage["input_token_details"]["cache_read"] == 4
    assert usage["output_token_details"]["reasoning"] == 20


def test_usage_overrides_make_counts_exact(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("ok", prompt_tokens=1000, completion_tokens=50)])
    usage = chat(openai_server).invoke("x").usage_metadata
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        1000,
        50,
        1050,
    )


def test_streaming_usage_arrives_on_exactly_one_chunk(openai_server: LocalOpenAIServer) -> None:
    model = chat(openai_server)
    invoked = model.invoke("Write me 2 haikus.")
    chunks, full = stream_all(model, "Write me 2 haikus.")
    assert len([chunk for chunk in chunks if chunk.usage_metadata]) == 1
    assert full.content == invoked.content
    assert full.usage_metadata == invoked.usage_metadata
    assert [entry.stream for entry in openai_server.requests] == [False, True]


def test_stream_without_include_usage_has_no_usage_chunk(
    openai_server: LocalOpenAIServer, http: httpx.Client
) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
    events = [
        line.removeprefix("data: ")
        for line in post(http, openai_server, body).text.splitlines()
        if line
    ]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    assert "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks) == (
        "Hello! How can I help you today?"
    )


def test_rate_limit_sends_retry_after_and_the_client_honours_it(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Fault("429", retry_after=2)])
    with pytest.raises(openai.RateLimitError) as raised:
        chat(openai_server).invoke("x")
    assert raised.value.response.headers["retry-after"] == "2"
    openai_server.script([Fault("429", retry_after=0.05), Reply("after retry")])
    assert chat(openai_server, max_retries=1).invoke("x").content == "after retry"
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
    openai_server: LocalOpenAIServer, kind: Any, error: type[Exception]
) -> None:
    openai_server.script([Fault(kind, message="scripted failure")])
    with pytest.raises(error, match="scripted failure"):
        chat(openai_server).invoke("x")


def test_timeout_fault_outlasts_the_client_and_its_thread_ends() -> None:
    with LocalOpenAIServer() as server:
        server.script([Fault("timeout", seconds=30)])
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            chat(server, timeout=0.3).invoke("x")
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 2
        while _request_threads() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _request_threads()


def test_a_short_hang_is_just_a_slow_answer(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("timeout", seconds=0.2)])
    started = time.monotonic()
    assert (
        chat(openai_server, timeout=5).invoke("Hello").content == "Hello! How can I help you today?"
    )
    assert time.monotonic() - started >= 0.2


def test_stopping_the_server_ends_a_hanging_request() -> None:
    server = LocalOpenAIServer().start()
    server.script([Fault("timeout", seconds=30)])
    failures: list[BaseException] = []

    def call() -> None:
        try:
            chat(server, timeout=20).invoke("x")
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
    model = chat(openai_server)
    with pytest.raises(json.JSONDecodeError):
        list(model.stream("x")) if stream else model.invoke("x")


def test_dropped_connection_before_the_response(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("drop")])
    with pytest.raises(openai.APIConnectionError):
        chat(openai_server).invoke("x")


def test_dropped_stream_delivers_some_chunks_then_fails(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("drop", after_chunks=2)])
    received: list[str] = []

    def consume() -> None:
        received.extend(chunk.text for chunk in chat(openai_server).stream("Tell me about the sea"))

    with pytest.raises(openai.APIConnectionError):
        consume()
    assert "".join(received) == "Here is "


def _fault_pattern(http: httpx.Client, server: LocalOpenAIServer, seed: int) -> list[str]:
    server.reset()
    server.set_fault_rate(0.5, kinds=["500", "429"], seed=seed)
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    return [str(post(http, server, body).status_code) for _ in range(20)]


def test_random_fault_rate_is_reproducible_for_a_seed(
    openai_server: LocalOpenAIServer, http: httpx.Client
) -> None:
    first = _fault_pattern(http, openai_server, seed=7)
    assert first == _fault_pattern(http, openai_server, seed=7)
    assert first != _fault_pattern(http, openai_server, seed=8)
    assert {"200", "500", "429"} == set(first)
    assert [entry.outcome for entry in openai_server.requests] == [
        "reply" if status == "200" else status
        for status in _fault_pattern(http, openai_server, seed=8)
    ]


def test_latency_per_model_and_concurrent_requests(openai_server: LocalOpenAIServer) -> None:
    openai_server.set_latency(0.3, model="slow")
    started = time.monotonic()
    chat(openai_server, "fast").invoke("x")
    assert time.monotonic() - started < 0.3
    started = time.monotonic()
    assert len(chat(openai_server, "slow").batch(["a", "b", "c", "d"])) == 4
    assert 0.3 <= time.monotonic() - started < 1.0


def test_two_servers_keep_separate_logs(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    assert openai_server.base_url != second_openai_server.base_url
    openai_server.script([Fault("503")])
    with pytest.raises(openai.InternalServerError):
        chat(openai_server).invoke("x")
    assert chat(second_openai_server).invoke("Hello").content
    assert (openai_server.request_count(), second_openai_server.request_count()) == (1, 1)


def test_brain_calls_tools_with_values_from_the_prompt_then_uses_the_result(
    openai_server: LocalOpenAIServer,
) -> None:
    def adder(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    model = chat(openai_server).bind_tools([adder])
    question = HumanMessage("Use the adder: what is 3 + 4?")
    call = model.invoke([question])
    assert isinstance(call, AIMessage)
    assert [(tc["name"], tc["args"]) for tc in call.tool_calls] == [("adder", {"a": 3, "b": 4})]
    result = ToolMessage("7", tool_call_id=call.tool_calls[0]["id"] or "")
    assert "7" in model.invoke([question, call, result]).text


def test_brain_answers_json_schema_and_json_mode(openai_server: LocalOpenAIServer) -> None:
    schema = {
        "title": "City",
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
        "required": ["name", "population"],
    }
    city = chat(openai_server).with_structured_output(schema, method="json_schema")
    assert city.invoke("Describe Paris, population 2100000.") == {
        "name": "Paris",
        "population": 2100000,
    }
    keys = chat(openai_server).with_structured_output(None, method="json_mode")
    answer = keys.invoke("Answer in JSON with 'city' and 'country' keys.")
    assert set(answer) == {"city", "country"}
    assert all(isinstance(value, str) and value for value in answer.values())


def test_stop_and_max_tokens_shape_the_answer(
    openai_server: LocalOpenAIServer, http: httpx.Client
) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
    stopped = post(http, openai_server, {**base, "stop": ["help"]}).json()
    assert stopped["choices"][0]["message"]["content"] == "Hello! How can I "
    cut = post(http, openai_server, {**base, "max_completion_tokens": 2}).json()
    assert (cut["choices"][0]["finish_reason"], cut["usage"]["completion_tokens"]) == ("length", 2)


def test_bad_requests_are_rejected_and_logged(
    openai_server: LocalOpenAIServer, http: httpx.Client
) -> None:
    assert post(http, openai_server, b"{not json").status_code == 400
    assert post(http, openai_server, {"model": "m", "n": 2, "messages": []}).status_code == 400
    assert post(http, openai_server, {"model": "m"}, path="/v1/embeddings").status_code == 404
    assert [entry.outcome for entry in openai_server.requests] == ["bad_request", "bad_request"]
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert post(http, openai_server, body, path="/chat/completions").json()["model"] == "m"


def test_tool_call_arguments_may_be_sent_verbatim(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply(tool_calls=[ToolCall("lookup", arguments="{broken")])])
    message = chat(openai_server).invoke("x")
    assert isinstance(message, AIMessage)
    assert [call["args"] for call in message.invalid_tool_calls] == ["{broken"]


def _request_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if "process_request_thread" in thread.name]
