"""Which exceptions are a provider's fault: errors a 200 carries, and the caller's bugs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter.router._faults import classify


def _reading(body: dict[str, Any]) -> BaseException:
    """What the real ChatOpenAI raises reading ``body`` as a completion."""
    model = ChatOpenAI(model="m", api_key="test")
    with pytest.raises(Exception) as raised:
        model._create_chat_result(body)
    return raised.value


def test_an_error_object_in_a_completion_is_a_fault_by_its_code() -> None:
    server = classify(_reading({"error": {"code": 502, "message": "Provider returned error"}}))
    assert server is not None and (server.kind, server.retryable) == ("server", True)
    limited = classify(_reading({"error": {"code": 429, "message": "slow down"}}))
    assert limited is not None and limited.kind == "rate_limit"
    bad = classify(_reading({"error": {"code": 400, "message": "bad param"}}))
    assert bad is not None and (bad.kind, bad.retryable) == ("fatal", False)
    too_long = classify(_reading({"error": {"code": 400, "message": "maximum context length"}}))
    assert too_long is not None and too_long.kind == "context_overflow"
    unknown = classify(_reading({"error": {"message": "upstream failed"}}))
    assert unknown is not None and (unknown.kind, unknown.retryable) == ("server", True)


@pytest.mark.parametrize("body", [{"id": "x"}, {"id": "x", "choices": None}])
def test_a_completion_without_choices_is_malformed(body: dict[str, Any]) -> None:
    fault = classify(_reading(body))
    assert fault is not None and (fault.kind, fault.retryable) == ("malformed", True)


def test_null_choices_under_a_response_format_are_malformed() -> None:
    """With ``response_format`` the openai SDK parses the body first and meets the null
    choices of an error object itself, as a TypeError."""
    from openai.lib._parsing._completions import parse_chat_completion
    from openai.types.chat import ChatCompletion

    gateways_body: dict[str, Any] = {"choices": None, "error": {"code": 502}}
    completion = ChatCompletion.model_construct(**gateways_body)
    with pytest.raises(TypeError) as raised:
        parse_chat_completion(
            response_format={"type": "json_object"}, input_tools=[], chat_completion=completion
        )
    fault = classify(raised.value)
    assert fault is not None and (fault.kind, fault.retryable) == ("malformed", True)


def test_the_same_exceptions_raised_by_the_callers_code_stay_bugs() -> None:
    def callers_code() -> None:
        raise ValueError({"code": 502, "message": "looks like a body"})

    with pytest.raises(ValueError) as raised:
        callers_code()
    assert classify(raised.value) is None
    assert classify(KeyError("choices")) is None
    assert classify(TypeError("null")) is None


def _anthropic_stream_error(error: dict[str, Any]) -> BaseException:
    """What the real anthropic SDK raises for an SSE ``error`` event in an HTTP 200 stream
    carrying ``error``: it reads the events off a transport that answers in memory."""
    import anthropic
    import httpx2

    events = (f"event: error\ndata: {json.dumps({'type': 'error', 'error': error})}\n\n").encode()

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=events)

    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://anthropic.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )
    stream = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=16,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
    )
    with pytest.raises(anthropic.APIStatusError) as raised:
        list(stream)
    assert raised.value.status_code == 200  # the SDK's, not a status this test chose
    return raised.value


@pytest.mark.parametrize(
    ("error_type", "kind", "status"),
    [
        ("overloaded_error", "server", 529),
        ("api_error", "server", 500),
        ("timeout_error", "server", 504),
        ("rate_limit_error", "rate_limit", 429),
        ("invalid_request_error", "fatal", 400),
        ("authentication_error", "fatal", 401),
        ("permission_error", "fatal", 403),
        ("not_found_error", "fatal", 404),
        ("request_too_large", "fatal", 413),
    ],
)
def test_an_anthropic_error_event_is_a_fault_by_its_type(
    error_type: str, kind: str, status: int
) -> None:
    """Anthropic reports a failure once its stream has begun (routinely an overload, also
    as the stream's first event) as an ``error`` event; the SDK raises it with the 200
    the response had. It is the fault its type stands for, with that status recorded."""
    fault = classify(_anthropic_stream_error({"type": error_type, "message": "It failed."}))
    assert fault is not None
    assert (fault.kind, fault.retryable, fault.status_code) == (kind, kind != "fatal", status)
    assert fault.error_type == "APIStatusError"


def test_an_anthropic_error_event_saying_the_prompt_is_too_long_is_an_overflow() -> None:
    error = {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens"}
    fault = classify(_anthropic_stream_error(error))
    assert fault is not None
    assert (fault.kind, fault.retryable, fault.status_code) == ("context_overflow", False, 400)


def test_an_unknown_anthropic_error_event_is_a_server_fault_with_no_status() -> None:
    """An error the provider reported while answering, of no type known: it failed after
    accepting the request, as an error object with no code does on the openai path."""
    fault = classify(_anthropic_stream_error({"type": "brand_new_error", "message": "?"}))
    assert fault is not None
    assert (fault.kind, fault.retryable, fault.status_code) == ("server", True, None)


class _GatewayError(Exception):
    """Another SDK's error for a failure reported inside an HTTP 200, as such SDKs raise
    one: the response's status and the decoded body on the exception."""

    def __init__(self, status_code: int, body: object) -> None:
        super().__init__(str(body))
        self.status_code = status_code
        self.body = body


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        ({"error": {"code": 503, "message": "upstream down"}}, "server", 503),
        ({"error": {"code": 429, "message": "slow down"}}, "rate_limit", 429),
        ({"error": {"code": 400, "message": "maximum context length"}}, "context_overflow", 400),
        ({"code": 401, "message": "bad key"}, "fatal", 401),
        ({"error": {"type": "overloaded_error"}}, "server", 529),
        ({"error": "the provider failed"}, "server", None),
        ("not json", "server", None),
    ],
)
def test_any_sdks_error_carrying_a_2xx_status_is_read_from_its_body(
    body: object, kind: str, status: int | None
) -> None:
    fault = classify(_GatewayError(200, body))
    assert fault is not None and (fault.kind, fault.status_code) == (kind, status)
    assert classify(_GatewayError(206, body)) == fault


def test_an_error_with_no_status_and_a_body_stays_a_bug() -> None:
    assert classify(_GatewayError(None, {"error": {"code": 503}})) is None  # type: ignore[arg-type]
