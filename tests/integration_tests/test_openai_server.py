"""The OpenAI-compatible test server: scripting, usage, the brain and the request log.

Driven by the real ChatOpenAI client, and raw httpx where the wire format itself is checked.
Faults, latency and timeouts are in test_openai_server_faults.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from langchain_costrouter.logprobs import LogprobSummary, message_logprobs
from langchain_costrouter.testing import (
    Fault,
    LocalOpenAIServer,
    Reply,
    ToolCall,
    count_prompt_tokens,
)
from tests.server_fixtures import openai_chat, post_raw

HELLO = "Hello! How can I help you today?"


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
    model = openai_chat(openai_server)
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
    assert model.invoke("Hello").content == HELLO


def test_model_scripts_come_before_any_model_scripts(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("anyone")])
    openai_server.script([Reply("strong only")], model="strong")
    assert openai_chat(openai_server, "cheap").invoke("q").content == "anyone"
    assert openai_chat(openai_server, "strong").invoke("q").content == "strong only"
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
    assert openai_chat(openai_server, "echo").invoke("ping").content == "echo ping"
    assert openai_chat(openai_server, "other").invoke("Hello").content == HELLO
    assert [body["model"] for body in seen] == ["echo", "other"]
    assert [entry.source for entry in openai_server.requests] == ["responder", "brain"]


def test_usage_reports_counted_prompt_tokens_and_scripted_details(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Reply("done", cached_tokens=4, reasoning_tokens=20)])
    message = openai_chat(openai_server).invoke([HumanMessage("How many tokens is this prompt?")])
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
    usage = openai_chat(openai_server).invoke("x").usage_metadata
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        1000,
        50,
        1050,
    )


def test_streaming_usage_arrives_on_exactly_one_chunk(openai_server: LocalOpenAIServer) -> None:
    model = openai_chat(openai_server)
    invoked = model.invoke("Write me 2 haikus.")
    chunks, full = stream_all(model, "Write me 2 haikus.")
    assert len([chunk for chunk in chunks if chunk.usage_metadata]) == 1
    assert full.content == invoked.content
    assert full.usage_metadata == invoked.usage_metadata
    assert [entry.stream for entry in openai_server.requests] == [False, True]


def test_stream_without_include_usage_has_no_usage_chunk(
    openai_server: LocalOpenAIServer, raw_http: httpx.Client
) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
    events = [
        line.removeprefix("data: ")
        for line in post_raw(raw_http, openai_server, body).text.splitlines()
        if line
    ]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    assert "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks) == (HELLO)


def test_two_servers_keep_separate_logs(
    openai_server: LocalOpenAIServer, second_openai_server: LocalOpenAIServer
) -> None:
    assert openai_server.base_url != second_openai_server.base_url
    openai_server.script([Fault("503")])
    with pytest.raises(openai.InternalServerError):
        openai_chat(openai_server).invoke("x")
    assert openai_chat(second_openai_server).invoke("Hello").content
    assert (openai_server.request_count(), second_openai_server.request_count()) == (1, 1)


def test_brain_calls_tools_with_values_from_the_prompt_then_uses_the_result(
    openai_server: LocalOpenAIServer,
) -> None:
    def adder(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    model = openai_chat(openai_server).bind_tools([adder])
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
    city = openai_chat(openai_server).with_structured_output(schema, method="json_schema")
    assert city.invoke("Describe Paris, population 2100000.") == {
        "name": "Paris",
        "population": 2100000,
    }
    keys = openai_chat(openai_server).with_structured_output(None, method="json_mode")
    answer = keys.invoke("Answer in JSON with 'city' and 'country' keys.")
    assert set(answer) == {"city", "country"}
    assert all(isinstance(value, str) and value for value in answer.values())


def test_stop_and_max_tokens_shape_the_answer(
    openai_server: LocalOpenAIServer, raw_http: httpx.Client
) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
    stopped = post_raw(raw_http, openai_server, {**base, "stop": ["help"]}).json()
    assert stopped["choices"][0]["message"]["content"] == "Hello! How can I "
    cut = post_raw(raw_http, openai_server, {**base, "max_completion_tokens": 2}).json()
    assert (cut["choices"][0]["finish_reason"], cut["usage"]["completion_tokens"]) == ("length", 2)


def test_bad_requests_are_rejected_and_logged(
    openai_server: LocalOpenAIServer, raw_http: httpx.Client
) -> None:
    assert post_raw(raw_http, openai_server, b"{not json").status_code == 400
    assert (
        post_raw(raw_http, openai_server, {"model": "m", "n": 2, "messages": []}).status_code == 400
    )
    assert (
        post_raw(raw_http, openai_server, {"model": "m"}, path="/v1/embeddings").status_code == 404
    )
    assert [entry.outcome for entry in openai_server.requests] == ["bad_request", "bad_request"]
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert post_raw(raw_http, openai_server, body, path="/chat/completions").json()["model"] == "m"


def test_tool_call_arguments_may_be_sent_verbatim(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply(tool_calls=[ToolCall("lookup", arguments="{broken")])])
    message = openai_chat(openai_server).invoke("x")
    assert isinstance(message, AIMessage)
    assert [call["args"] for call in message.invalid_tool_calls] == ["{broken"]


def test_logprobs_reach_chatopenai_when_asked(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("It is 42", logprobs=[-0.5, -2.0]), Reply("It is 42")])
    asked = openai_chat(openai_server, logprobs=True).invoke("q")
    content = asked.response_metadata["logprobs"]["content"]
    assert [(t["token"], t["logprob"]) for t in content] == [
        ("It ", -0.5),
        ("is ", -2.0),
        ("42", -2.0),
    ]
    assert message_logprobs(asked) == LogprobSummary(mean=-1.5, min=-2.0, tokens=3)
    not_asked = openai_chat(openai_server).invoke("q")
    assert not_asked.response_metadata.get("logprobs") is None
    assert message_logprobs(not_asked) is None


def test_streamed_logprobs_add_up_to_the_answers(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("It is 42", logprobs=[-0.25])])
    _, full = stream_all(openai_chat(openai_server, logprobs=True), "q")
    assert full.content == "It is 42"
    assert message_logprobs(full) == LogprobSummary(mean=-0.25, min=-0.25, tokens=3)
