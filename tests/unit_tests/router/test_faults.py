"""Which exceptions are a provider's fault: errors a 200 carries, and the caller's bugs."""

from __future__ import annotations

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
