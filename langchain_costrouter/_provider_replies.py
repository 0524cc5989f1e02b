"""What a provider's HTTP 200 may carry instead of an answer, as the client raises it.

ChatOpenAI reads a completion's body after the HTTP status said all was well, so a body
that is an error object, or that has no choices, reaches the caller as a plain
ValueError, KeyError or TypeError: exceptions that otherwise mean a bug in the caller's
code. These tell the two apart, for every place that must know whether a provider
failed: the router's fault classification (`router._faults`) and billing of a failed
attempt (`router._attempts`), the item batcher and the prompt compressor. Other SDKs
raise an error reported inside a 200 (an SSE ``error`` event) with the 200 on it; what
it stands for is read from its body (`implied_status`), whichever SDK raised it.
"""

from __future__ import annotations

from langchain_costrouter._lazy import class_if_imported


def failed_reply(error: BaseException) -> bool:
    """Whether ``error`` is a provider's HTTP 200 that carried no usable answer."""
    return error_in_a_200(error) is not None or unreadable_answer(error)


# Where a completion's body is read (module prefix, function): langchain-openai's reader,
# and the openai SDK's parser of structured output (``response_format``), which meets
# null choices first. What they raise there is the body's fault, not the caller's.
_BODY_READERS = (
    ("langchain_openai.", "_create_chat_result"),
    ("openai.lib._parsing.", "parse_chat_completion"),
)


def error_in_a_200(error: BaseException) -> dict[str, object] | None:
    """The error object of an HTTP 200 that carries one instead of an answer, or None.

    Gateways (OpenRouter, LiteLLM proxies) send ``{"error": {"code": 502, ...}}`` with a
    200 when the provider behind them failed. ChatOpenAI raises the object as a bare
    ValueError; in a stream the openai SDK raises its base ``APIError`` with it as the
    body. A ValueError is read as one only when langchain-openai raised it there, so a
    ValueError of the caller's own code is still a bug. Any other SDK's error that
    carries a 2xx status is one too (`error_event_in_a_stream`): its body's error object
    (``{}`` when it has none to read).
    """
    api_error = class_if_imported("openai", "APIError")  # none raised before openai loads
    if api_error is not None and type(error) is api_error:
        return _error_object(getattr(error, "body", None))
    if type(error) is ValueError and len(error.args) == 1 and isinstance(error.args[0], dict):
        return error.args[0] if _raised_reading_a_body(error) else None
    if _carries_a_2xx(error):
        return _error_object(getattr(error, "body", None))
    return None


def error_event_in_a_stream(error: BaseException) -> bool:
    """Whether ``error`` is an SSE ``error`` event in a stream whose HTTP status was 200.

    OpenAI-compatible servers and gateways report a failure once the stream has begun as
    ``data: {"error": {...}}``; the openai SDK raises its base ``APIError`` for it, and
    only there (every error it raises for an HTTP status is a subclass). Anthropic sends
    ``event: error`` (``overloaded_error``, routinely, even as the first event); its SDK
    raises ``APIStatusError`` with the stream's 200 as its status, as an SDK must that
    builds every error from the response it has. The provider had accepted the request
    by then, so the router bills its prompt (`router._attempts`).
    """
    api_error = class_if_imported("openai", "APIError")
    return (api_error is not None and type(error) is api_error) or _carries_a_2xx(error)


# The HTTP status each of Anthropic's error types is sent with when it is a status
# (``overloaded_error`` is Anthropic's own 529); a type reported inside a 200 stands for it.
_STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def implied_status(reported: dict[str, object]) -> int | None:
    """The HTTP status an error object reported inside a 200 stands for, or None.

    An int ``code`` of 400-599 (OpenAI-compatible gateways send the status they would
    have), else the status of its ``type`` (Anthropic's types, `_STATUS_OF_TYPE`). The
    router classifies the error as that status, and records it (`router._faults`).
    """
    code = reported.get("code")
    if type(code) is int and 400 <= code <= 599:
        return code
    kind = reported.get("type")
    return _STATUS_OF_TYPE.get(kind) if isinstance(kind, str) else None


def status_code_of(error: BaseException) -> int | None:
    """The HTTP status an SDK error carries (on itself, or on its response)."""
    status = getattr(error, "status_code", None)
    if not isinstance(status, int):
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _carries_a_2xx(error: BaseException) -> bool:
    """An error raised with a successful status and the provider's report as its body:
    the provider reported it inside the answer. An SDK raises a 4xx or 5xx for a request
    that failed; a 2xx with a body only when the answer itself failed (an error event, or
    an answer its strict validation refused). openai's ``LengthFinishReasonError`` and
    ``ContentFilterFinishReasonError`` carry the 200's response too, but no body: the
    answer came, and its client refused it (`router._attempts.billed_answer` bills it)."""
    status = status_code_of(error)
    return status is not None and 200 <= status < 300 and hasattr(error, "body")


def _error_object(body: object) -> dict[str, object]:
    """A body's error object: the body itself (openai's stream error), or its ``error``
    member (Anthropic's ``{"type": "error", "error": {...}}``); ``{}`` when neither."""
    if not isinstance(body, dict):
        return {}
    inner = body.get("error")
    return inner if isinstance(inner, dict) else body


def unreadable_answer(error: BaseException) -> bool:
    """A 200 whose body has no ``choices`` (or null ones): ChatOpenAI's KeyError or
    TypeError while reading it (the SDK's, under ``response_format``; also when the body
    was an error object), a provider's malformed answer rather than a bug."""
    return type(error) in (KeyError, TypeError) and _raised_reading_a_body(error)


def _raised_reading_a_body(error: BaseException) -> bool:
    """Whether the innermost frame of ``error``'s traceback is one of `_BODY_READERS`."""
    trace = error.__traceback__
    if trace is None:
        return False
    while trace.tb_next is not None:
        trace = trace.tb_next
    frame = trace.tb_frame
    module = str(frame.f_globals.get("__name__", ""))
    name = frame.f_code.co_name
    return any(name == function and module.startswith(prefix) for prefix, function in _BODY_READERS)
