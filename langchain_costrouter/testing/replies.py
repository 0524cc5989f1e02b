"""What the test server answers with, and what it remembers about each request.

Tests script the server with these values instead of mocking the OpenAI client, so the
real ``ChatOpenAI`` parses real HTTP responses. All values are immutable: a script can
be shared between threads (the server answers concurrently) without copies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["400", "429", "500", "503", "timeout", "malformed", "drop", "error_body"]
"""Injected failures: an HTTP error status, a hang, an unparsable body, a dropped connection."""

CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
"""OpenAI's error code for a prompt longer than the model's context (``Fault.code``)."""

ReplySource = Literal["script", "random_fault", "responder", "brain"]

DEFAULT_LOGPROB = -0.01
"""The log-probability of every token of a reply that sets none, when a request asks."""


@dataclass(frozen=True)
class ToolCall:
    """One function call the model "decides" to make.

    Args:
        name: The function name, as offered in the request's ``tools``.
        arguments: The call's arguments; a string is sent verbatim, which lets a test
            send arguments that are not valid JSON.
        id: The call id; the server invents ``call_<n>`` when omitted.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        """The arguments exactly as they travel on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    """A successful completion.

    Token counts default to what the server measures with tiktoken; set them to make
    cost tests independent of the tokenizer.

    Args:
        text: The assistant's content (``None`` with tool calls only).
        tool_calls: Function calls; ``ToolCall`` or dicts with ``name`` and ``args``
            (LangChain's shape) or ``arguments``.
        prompt_tokens: Overrides the measured prompt tokens in ``usage``.
        completion_tokens: Overrides the measured completion tokens in ``usage``.
        cached_tokens: Reported as ``prompt_tokens_details.cached_tokens`` when set.
        reasoning_tokens: Reported as ``completion_tokens_details.reasoning_tokens`` when
            set; they count in ``completion_tokens`` like OpenAI's reasoning models do.
        input_audio_tokens: Reported as ``prompt_tokens_details.audio_tokens`` when set
            (a part of the prompt tokens, as OpenAI's audio models count them).
        output_audio_tokens: Reported as ``completion_tokens_details.audio_tokens`` when
            set (a part of the completion tokens).
        finish_reason: Overrides the finish reason the server would derive.
        model: The model name to report instead of echoing the request's.
        latency: Extra seconds to wait before answering.
        logprobs: Token log-probabilities reported when the request asks for them
            (``logprobs: true``), one per word piece of the text (the last value repeats
            for any further pieces); unset, each piece reports ``DEFAULT_LOGPROB``.
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    input_audio_tokens: int | None = None
    output_audio_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    latency: float = 0.0
    logprobs: tuple[float, ...] | None = None

    def __init__(
        self,
        text: str | None = None,
        tool_calls: list[ToolCall | Mapping[str, Any]] | tuple[ToolCall, ...] = (),
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        input_audio_tokens: int | None = None,
        output_audio_tokens: int | None = None,
        finish_reason: str | None = None,
        model: str | None = None,
        latency: float = 0.0,
        logprobs: tuple[float, ...] | list[float] | None = None,
    ) -> None:
        values = {
            "text": text,
            "tool_calls": tuple(_as_tool_call(call) for call in tool_calls),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "cached_tokens": cached_tokens,
            "reasoning_tokens": reasoning_tokens,
            "input_audio_tokens": input_audio_tokens,
            "output_audio_tokens": output_audio_tokens,
            "finish_reason": finish_reason,
            "model": model,
            "latency": latency,
            "logprobs": None if logprobs is None else tuple(float(v) for v in logprobs),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Fault:
    """An injected failure.

    Args:
        kind: ``"400"``, ``"429"``, ``"500"``, ``"503"``: that HTTP status with an
            OpenAI-style error body (see ``code``). ``"timeout"``: hang ``seconds``
            before answering normally, so a client with a shorter timeout gives up (the
            hang ends early when the client disconnects or the server stops).
            ``"malformed"``: HTTP 200 with a body that is not JSON (a broken SSE event
            when streaming). ``"error_body"``: HTTP 200 whose body is an error object
            with no choices, as gateways such as OpenRouter send when the provider behind
            them failed (``code`` defaults to 502; when streaming, one event carrying the
            error). ``"drop"``: close the connection without a response, or
            mid-stream after ``after_chunks`` chunks past the role chunk (the usage
            chunk too when the request asked for it).
        retry_after: Seconds sent in the ``Retry-After`` header of a 429.
        seconds: How long a ``"timeout"`` hangs.
        after_chunks: How many chunks past the role chunk a dropped stream delivers.
        reply: The answer a dropped stream is cut from (default: the server's own), e.g.
            an empty one, so that its finish and usage chunks come before the drop.
        message: The error message of an HTTP error body. Routers also read a 400 whose
            message says "maximum context length" (or the like) as an overflow, so keep
            such wording for ``CONTEXT_LENGTH_EXCEEDED`` faults.
        code: The ``code`` of an HTTP error body. It decides what a client makes of a 400,
            so it is a separate choice: unset, a 400 is a plain bad request (``null``
            code, like OpenAI's invalid-parameter errors), which a router must not retry
            or escalate; ``CONTEXT_LENGTH_EXCEEDED`` makes it the overflow OpenAI sends for
            a prompt too long for the model, which a router escalates to a model with a
            larger context. Unset on a 429 it is ``"rate_limit_exceeded"``, on a 5xx
            ``null``.
    """

    kind: FaultKind
    retry_after: float = 1.0
    seconds: float = 30.0
    after_chunks: int = 2
    message: str | None = None
    code: str | None = None
    reply: Reply | None = None


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it, for counting calls and tokens in tests.

    Attributes:
        path: The URL path, e.g. ``/v1/chat/completions``.
        body: The parsed JSON body, or ``None`` when it was not valid JSON.
        model: The requested model.
        stream: Whether the client asked for SSE streaming.
        prompt_tokens: Input tokens as the server counted them (tiktoken cl100k_base).
        completion_tokens: Output tokens reported in ``usage`` (0 for faults).
        outcome: ``"reply"``, ``"bad_request"`` or the fault kind.
        source: What decided the answer: a script, the random fault rate, the
            responder or the default brain.
    """

    path: str
    body: dict[str, Any] | None
    model: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    outcome: str
    source: ReplySource | None


def _as_tool_call(call: ToolCall | Mapping[str, Any]) -> ToolCall:
    if isinstance(call, ToolCall):
        return call
    arguments = call.get("arguments", call.get("args", {}))
    return ToolCall(name=str(call["name"]), arguments=arguments, id=call.get("id"))
