"""Provider faults: what went wrong, whether retrying can help, and how long to wait.

Translating at the edge keeps the cascade provider-agnostic: it sees a `ProviderFault`,
never an SDK exception. Only errors known to be transient are retried; anything
unknown propagates unchanged, because an unexpected exception is usually a bug in
the caller's code, not a flaky provider.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Literal

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelConnectionError,
    ModelError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from langchain_costrouter._provider_replies import (
    error_in_a_200,
    implied_status,
    status_code_of,
    unreadable_answer,
)

FaultKind = Literal[
    "rate_limit", "server", "timeout", "connection", "malformed", "context_overflow", "fatal"
]


@dataclass(frozen=True, slots=True)
class ProviderFault:
    """A classified provider failure."""

    kind: FaultKind
    retryable: bool
    retry_after: float | None
    error_type: str
    status_code: int | None = None
    """The provider's HTTP status, when the error carries one (ledger rows record it)."""

    @property
    def escalates(self) -> bool:
        """True when a later tier may still answer (everything but a fatal error)."""
        return self.kind != "fatal"


def classify(error: BaseException) -> ProviderFault | None:
    """Classify a provider error, or return None for an error that is not one (a bug)."""
    name = type(error).__name__
    status = status_code_of(error)
    if isinstance(error, ContextOverflowError) or _says_context_overflow(error):
        return ProviderFault("context_overflow", False, None, name, status)
    if isinstance(error, ModelError):
        kind = _kind_of_model_error(error)
        return ProviderFault(kind, error.is_retryable, _retry_after(error), name, status)
    transient = _transient_kind(error)
    if transient is not None:
        return ProviderFault(transient, True, _retry_after(error), name, status)
    if (reported := error_in_a_200(error)) is not None:  # no status, or a 2xx
        status = implied_status(reported)
        if status is None:  # it failed while answering; nothing tells how
            return ProviderFault("server", True, None, name)
        if status == 400 and _names_an_overflow(str(reported.get("message", ""))):
            return ProviderFault("context_overflow", False, None, name, status)
    elif status is None and unreadable_answer(error):
        return ProviderFault("malformed", True, None, name)
    if status is not None:
        retryable = status == 429 or status >= 500
        by_status: FaultKind = (
            "rate_limit" if status == 429 else ("server" if retryable else "fatal")
        )
        return ProviderFault(by_status, retryable, _retry_after(error), name, status)
    return None


def backoff_delay(
    attempt: int, fault: ProviderFault, *, base: float, cap: float, rng: random.Random
) -> float:
    """Exponential backoff with full jitter, honouring Retry-After (both capped)."""
    if fault.retry_after is not None:
        return min(max(fault.retry_after, 0.0), cap)
    jitter: float = rng.uniform(0.5, 1.0)
    return min(cap, base * float(2**attempt)) * jitter


# How providers word a context overflow when their SDK maps it to a plain 400.
_OVERFLOW_PHRASES = (
    "maximum context length",
    "context window",
    "prompt is too long",
    "context_length_exceeded",
    "too many tokens",
)


def _says_context_overflow(error: BaseException) -> bool:
    """A 400 whose error code or message says the prompt does not fit the model."""
    if getattr(error, "code", None) == "context_length_exceeded":
        return True
    return getattr(error, "status_code", None) == 400 and _names_an_overflow(str(error))


def _names_an_overflow(text: str) -> bool:
    lowered = text.lower()
    return any(phrase in lowered for phrase in _OVERFLOW_PHRASES)


def _kind_of_model_error(error: ModelError) -> FaultKind:
    if isinstance(error, ModelRateLimitError):
        return "rate_limit"
    if isinstance(error, ModelTimeoutError):
        return "timeout"
    if isinstance(error, ModelConnectionError):
        return "connection"
    return "server" if error.is_retryable else "fatal"


def _transient_kind(error: BaseException) -> FaultKind | None:
    """Errors raised below the SDK: a dropped stream, a bad body, a socket timeout."""
    # Imported on the first failure, not with the router: httpx is slow to import, and
    # many processes never see a transport error.
    import httpx

    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(error, httpx.TransportError | ConnectionError):
        return "connection"
    if isinstance(error, json.JSONDecodeError):
        return "malformed"
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on openai
        return None
    if isinstance(error, openai.APIResponseValidationError):
        return "malformed"
    if isinstance(error, openai.APITimeoutError):
        return "timeout"
    if isinstance(error, openai.APIConnectionError):
        return "connection"
    return None


def _retry_after(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
