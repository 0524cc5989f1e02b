"""The Anthropic-compatible test server, driven by the real ChatAnthropic.

What the router's Anthropic tests rely on: answers whole and streamed with their usage,
an HTTP error status, and an ``error`` event inside an HTTP 200 stream as the anthropic
SDK raises it (with the stream's 200 as its status).
"""

from __future__ import annotations

import anthropic
import pytest
from langchain_core.messages import AIMessageChunk

from langchain_costrouter.testing import (
    AnthropicErrorEvent,
    AnthropicHTTPError,
    LocalAnthropicServer,
    Reply,
    count_text_tokens,
)
from tests.server_fixtures import anthropic_chat

PROMPT = "Tell me something about the sea"


def _streamed(server: LocalAnthropicServer) -> AIMessageChunk:
    chunks = list(anthropic_chat(server).stream(PROMPT))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert isinstance(whole, AIMessageChunk)
    return whole


def _read(server: LocalAnthropicServer, shown: list[str]) -> None:
    """Stream the prompt, keeping each chunk's text in ``shown`` as it arrives."""
    for chunk in anthropic_chat(server).stream(PROMPT):
        shown.append(str(chunk.content))


def test_an_answer_is_whole_with_its_usage(anthropic_server: LocalAnthropicServer) -> None:
    anthropic_server.script([Reply("The sea is salty.", prompt_tokens=12, completion_tokens=5)])
    message = anthropic_chat(anthropic_server).invoke(PROMPT)
    assert message.content == "The sea is salty."
    assert message.usage_metadata is not None
    assert (message.usage_metadata["input_tokens"], message.usage_metadata["output_tokens"]) == (
        12,
        5,
    )
    (body,) = anthropic_server.requests
    assert (body["model"], body.get("stream")) == ("claude-haiku-4-5", None)


def test_a_streamed_answer_comes_word_by_word_with_its_usage(
    anthropic_server: LocalAnthropicServer,
) -> None:
    anthropic_server.script([Reply("The sea is salty.")])
    whole = _streamed(anthropic_server)
    assert whole.content == "The sea is salty."
    assert whole.usage_metadata is not None
    assert whole.usage_metadata["input_tokens"] == count_text_tokens(PROMPT)
    assert whole.usage_metadata["output_tokens"] == count_text_tokens("The sea is salty.")
    assert whole.response_metadata["stop_reason"] == "end_turn"
    assert anthropic_server.requests[0]["stream"] is True


def test_an_error_status_is_raised_as_the_sdk_raises_it(
    anthropic_server: LocalAnthropicServer,
) -> None:
    anthropic_server.script(
        [AnthropicHTTPError(), AnthropicHTTPError(400, "invalid_request_error")]
    )
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        anthropic_chat(anthropic_server).invoke(PROMPT)
    assert overloaded.value.status_code == 529
    with pytest.raises(anthropic.BadRequestError):
        _streamed(anthropic_server)


@pytest.mark.parametrize("after_events", [0, 1, 4])
def test_an_error_event_comes_inside_a_200_stream(
    anthropic_server: LocalAnthropicServer, after_events: int
) -> None:
    """The error event first, after ``message_start``, or after the first two words:
    the SDK raises its base status error with the stream's status, 200, and the error
    object as the body; what came before reached the caller."""
    event = AnthropicErrorEvent(after_events=after_events, reply=Reply("The sea is salty."))
    anthropic_server.script([event])
    shown: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        _read(anthropic_server, shown)
    error = raised.value
    assert type(error) is anthropic.APIStatusError
    assert error.status_code == 200
    assert error.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert "".join(shown) == ("The sea " if after_events == 4 else "")


def test_an_error_event_asked_for_without_a_stream_is_its_status(
    anthropic_server: LocalAnthropicServer,
) -> None:
    anthropic_server.script([AnthropicErrorEvent("api_error", "Internal server error")])
    with pytest.raises(anthropic.InternalServerError) as raised:
        anthropic_chat(anthropic_server).invoke(PROMPT)
    assert raised.value.status_code == 500
