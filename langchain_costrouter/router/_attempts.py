"""What each attempt of the cascade leaves in the call's record, and when a failure ends it.

`router._cascade` decides; this module writes down. Every attempt, answered, failed or
skipped, becomes an `AttemptRecord` on the request as it happens (so a call that ends in
an error still reaches the ledger with what it spent), and a provider failure is
classified here: retried, failed over, or raised at once with what to do.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata

from langchain_costrouter._provider_replies import error_event_in_a_stream
from langchain_costrouter._secrets import error_text
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._faults import ProviderFault, classify
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Called
from langchain_costrouter.routes import Deployment, Tier
from langchain_costrouter.telemetry.deployments import requested_model


def answered_attempt(
    request: Request, accountant: Accountant, called: Called, deployment: Deployment, index: int
) -> AttemptRecord:
    """Record an attempt that answered, priced on its usage."""
    assert called.message is not None
    record = accountant.attempt(deployment, called.message, request.messages)
    record.update({"tier": index, "latency_ms": called.latency_ms, "accepted": False})
    if over_cap(request, deployment, record):
        record["output_cap_exceeded"] = True
    request.attempts.append(record)
    return record


def failed_attempt(
    request: Request, accountant: Accountant, called: Called, deployment: Deployment, index: int
) -> tuple[ProviderFault, AttemptRecord]:
    """Record a failed attempt, priced when the provider had taken the request.

    A cut stream is priced on what it delivered; a stream that broke before showing
    anything on the chunks it had sent (their usage, else an estimate of the prompt,
    flagged as a cut call's is), one whose HTTP 200 carried only a server error event on
    its prompt (`_taken`); a refusal (an HTTP error status) at $0. An error that is not a
    provider's (a bug in the caller's code) propagates as it is.
    """
    error = called.error
    assert error is not None
    fault = classify(error)
    if fault is None:
        raise error
    reason = f"error: {fault.kind}" if called.partial is None else "error: stream cut"
    failed = failed_record(deployment, index, reason, fault, called.latency_ms)
    billed = called.partial or called.opened or billed_answer(error) or _taken(error, fault)
    if billed is not None:
        failed.update(accountant.attempt(deployment, billed, request.messages))
        failed.update({"tier": index, "accepted": False, "reason": reason})
    request.attempts.append(failed)
    return fault, failed


def billed_answer(error: BaseException) -> AIMessage | None:
    """The answer a provider returned, and billed, although its client raised: openai's
    ``LengthFinishReasonError`` (a structured answer cut at the output cap) and
    ``ContentFilterFinishReasonError`` carry the completion with its usage. Priced on
    that usage, the attempt is never recorded (or settled on a budget) as $0."""
    completion = getattr(error, "completion", None)
    usage = getattr(completion, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    output = getattr(usage, "completion_tokens", None)
    if type(prompt) is not int or type(output) is not int:
        return None
    tokens = UsageMetadata(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output)
    cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
    if type(cached) is int and cached:
        tokens["input_token_details"] = {"cache_read": cached}
    reasoning = getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", None)
    if type(reasoning) is int and reasoning:
        tokens["output_token_details"] = {"reasoning": reasoning}
    model = getattr(completion, "model", None)
    metadata = {"model_name": model} if isinstance(model, str) else {}
    return AIMessage(content="", usage_metadata=tokens, response_metadata=metadata)


def _taken(error: BaseException, fault: ProviderFault) -> AIMessage | None:
    """An answer of nothing, priced on an estimate of the prompt (flagged estimated), for
    a stream whose HTTP 200 carried only a server error event: the provider had accepted
    the prompt and failed while answering, as a stream broken after its opening chunk had
    (README, "Streaming"). An event that refuses the request (a 4xx code: bad request,
    rate limit, a prompt over the context) is billed nothing, as that status would be."""
    if fault.kind == "server" and error_event_in_a_stream(error):
        return AIMessage(content="")
    return None


def raise_if_final(
    request: Request, fault: ProviderFault, called: Called, deployment: Deployment
) -> None:
    """Raise when no retry or later tier can fix the failure.

    A fatal provider error (bad key, bad request) becomes a `ProviderError` at once; a
    stream that broke after reaching the caller cannot be retried without repeating text.
    The error lists the call's attempts: what it had paid (a compressor's call, a cut
    stream) is charged to the caller, as a batch's items are.
    """
    final = _final_error(fault, called, deployment)
    if final is not None:
        final.attempts = [dict(a) for a in request.attempts]
        raise final from called.error


def _final_error(
    fault: ProviderFault, called: Called, deployment: Deployment
) -> ProviderError | None:
    error = called.error
    assert error is not None  # a fault is a classified error
    if called.partial is not None:
        return ProviderError(
            f"{deployment.label} cut the stream after part of the answer ({fault.error_type}). "
            "The partial answer was already streamed, so it was not retried; retry the call, "
            "or add a quality check to the route's first tier to buffer its answers.",
            model=deployment.model_id,
            provider=deployment.provider,
            retryable=True,
            kind="stream_cut",
        )
    if not fault.escalates:
        if billed_answer(error) is not None:
            return ProviderError(
                f"{deployment.label} answered, but its answer was refused by the client "
                f"({fault.error_type}: {error_text(error, deployment.model)}); it was billed "
                "and is recorded. A cut at the output cap needs a larger max_tokens for this "
                "call; a content filter, another prompt.",
                model=deployment.model_id,
                provider=deployment.provider,
                retryable=False,
                kind=fault.kind,
            )
        return ProviderError(
            f"{deployment.label} rejected the request "
            f"({fault.error_type}: {error_text(error, deployment.model)}). "
            "This is not retryable: check the API key, the model name and the request.",
            model=deployment.model_id,
            provider=deployment.provider,
            retryable=False,
            kind=fault.kind,
        )
    return None


def output_cap(deployment: Deployment, kwargs: dict[str, Any]) -> int | None:
    """The output cap a call asks for: the call's own, else the model's; None if none."""
    if kwargs:
        for key in ("max_tokens", "max_completion_tokens"):
            value = kwargs.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return deployment.output_cap


def over_cap(request: Request, deployment: Deployment, record: AttemptRecord) -> bool:
    """More output than the cap: a server ignored it, so a budget cannot trust caps there."""
    cap = output_cap(deployment, request.kwargs)
    output = (record.get("usage") or {}).get("output_tokens")
    return cap is not None and isinstance(output, int) and output > cap


def circuit_open(request: Request, planned: Deployment, index: int, refused: bool) -> bool:
    """Record ``planned`` skipped when its breaker ``refused`` it: open before the call,
    or opened by the call's own failures or another call's during its retries (so a
    dead endpoint is not retried past its threshold, see `_breakers`)."""
    if refused:
        request.attempts.append(failed_record(planned, index, "skipped: circuit open", None, 0.0))
    return refused


def skipped(tier: Tier, index: int, reason: str) -> AttemptRecord:
    return failed_record(tier.primary, index, reason, None, None)


def failed_record(
    deployment: Deployment,
    index: int,
    reason: str,
    fault: ProviderFault | None,
    latency_ms: float | None,
) -> AttemptRecord:
    record = AttemptRecord(
        model=deployment.model_id,
        provider=deployment.provider,
        tier=index,
        usage={},
        cost_usd=0.0,
        accepted=False,
        reason=reason,
    )
    if fault is not None:  # the request was sent (a judge's model may be unknown)
        if isinstance(deployment.model, BaseChatModel):
            record["request_model"] = requested_model(deployment)
        record["error"] = fault.error_type
        record["status_code"] = fault.status_code
    if latency_ms is not None:
        record["latency_ms"] = latency_ms
    return record
