"""The spans of one routed call, made from its record once the call has ended.

One ``costrouter.route {task}`` span (INTERNAL) per routed call, with the decision and
the money: task, served model, cost, baseline, savings by lever, cache hit, escalated,
policy, status. Under it, one ``chat {model}`` span (CLIENT) per provider attempt, as
the GenAI conventions define an inference span (the model the id the request is made
with), plus ``costrouter.*`` attributes (the deployment's name as the ledger has it,
tier, cost, check score and reason, usage estimated); a cache hit, the compression stage and
a batch call get a span each. Attempts that never reached a provider (circuit open,
over budget, context window too small) are events on the call's span.

Spans are made after the fact with the times noted while the call ran (`calls`),
because usage and cost are only known once the record exists. The call's span carries
no ``gen_ai.*`` attribute: LangChain's own tracing already reports the routed call as
a chat run, and the attempts below it are the only chat operations we report, so no
token is counted twice. Judge and compressor calls are their own LangChain runs
(tracers see them there), so they get no span here; their cost is on the record.
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from langchain_costrouter._secrets import error_text
from langchain_costrouter.metadata import AttemptRecord, CostRouterMetadata
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import AttemptNote, CallTrace
from langchain_costrouter.telemetry.content import input_messages, output_messages
from langchain_costrouter.telemetry.deployments import deployment_attributes

Attributes = dict[str, Any]


def emit_spans(tracer: Tracer, call: CallTrace, record: CostRouterMetadata, end_ns: int) -> None:
    """The call's span and its children, with the times the call noted."""
    attributes = call_attributes(call, record)
    attempts = record.get("attempts") or []
    failed = attributes[n.STATUS] != "ok"
    if failed:
        attributes[n.ERROR_TYPE] = _call_error(attempts)
    span = tracer.start_span(
        f"{n.ROUTE_SPAN} {call.task}",
        context=call.parent,
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        start_time=call.start_ns,
    )
    inside = trace.set_span_in_context(span, call.parent)
    for note in call.attempts:
        _attempt_span(tracer, inside, call, note, note.record_in(attempts))
    if len(attempts) > len(call.attempts):  # records without a provider call
        _skipped_events(span, call, attempts)
    if record.get("cache_hit"):
        _cache_hit_span(tracer, inside, call, record, end_ns)
    if call.compression is not None:
        _compression_span(tracer, inside, call, record)
    if record.get("batch_size"):
        _batch_span(tracer, inside, call, record, end_ns)
    if failed:
        error = attributes[n.ERROR_TYPE]
        span.set_status(Status(StatusCode.ERROR, f"{attributes[n.STATUS]}: {error}"))
    span.end(end_time=end_ns)


def call_attributes(call: CallTrace, record: CostRouterMetadata) -> Attributes:
    """The routed call's span attributes, read from its record.

    Each attribute costs the SDK a few microseconds to check and copy, so the span
    carries what a call says and leaves out what another span or attribute already
    does: the attempt count (the child spans and skipped events), whether the served
    answer was accepted (its attempt span), a lever's saving of zero, a stream flag
    that is False.
    """
    get = record.get
    attributes: Attributes = {
        n.TASK: call.task,
        n.STATUS: get("status", "ok"),
        n.CACHE_HIT: bool(get("cache_hit")),
        n.ESCALATED: bool(get("escalated")),
    }
    for key, field in _CALL_FIELDS:
        value = get(field)
        if value is not None and value != "":  # "": no model served (a failed call)
            attributes[key] = value
    if call.streaming:
        attributes[n.STREAMED] = True
    savings = record.get("savings_usd")
    if savings:
        for lever, saved in savings.items():
            if saved:  # None: unknown; 0: nothing saved (the call's own cost says why)
                attributes[n.SAVINGS_PREFIX + lever] = saved
    return attributes


_CALL_FIELDS = (
    (n.NAMESPACE, "namespace"),
    (n.PURPOSE, "purpose"),
    (n.POLICY, "policy"),
    (n.SERVED_MODEL, "served_by"),
    (n.COST, "cost_usd"),
    (n.BASELINE, "baseline_cost_usd"),
    (n.REFERENCE_MODEL, "reference_model"),
    (n.RUN_ID, "run_id"),
)
"""Call span attributes copied from the record when it has them (None or "": left out,
never a model named "" that dashboards would group failed calls under)."""


def attempt_attributes(call: CallTrace, note: AttemptNote, attempt: AttemptRecord) -> Attributes:
    """A provider attempt's span attributes: the conventions' names, then ours.

    The cascade's reason is left out when it only says "accepted" (``accepted`` does).
    """
    deployment = note.deployment
    attributes = deployment_attributes(deployment)
    attributes[n.TASK] = call.task
    attributes[n.TIER] = note.tier
    if note.response_model is not None:
        attributes[n.RESPONSE_MODEL] = note.response_model
    max_tokens = call.max_tokens or deployment.output_cap
    if max_tokens is not None:
        attributes[n.REQUEST_MAX_TOKENS] = max_tokens
    if note.streamed:
        attributes[n.REQUEST_STREAM] = True
    get = attempt.get
    usage = attempt.get("usage")
    if usage:
        _usage_attributes(attributes, usage)
    for key, field in _ATTEMPT_FIELDS:
        value = get(field)
        if value is not None:
            attributes[key] = value
    reason = attempt.get("reason")
    check_reason = attempt.get("check_reason")
    if check_reason and not call.content:  # a check may quote the answer (or the prompt)
        del attributes[n.CHECK_REASON]
        reason = reason and reason.replace(f" ({check_reason})", "")
    if reason and reason != "accepted":
        attributes[n.REASON] = reason
    attributes[n.USAGE_ESTIMATED] = bool(get("usage_estimated"))
    if note.error is not None:
        attributes[n.ERROR_TYPE] = get("error") or type(note.error).__name__
    if note.prompt is not None:
        attributes[n.INPUT_MESSAGES] = input_messages(note.prompt)
    if note.answer is not None:
        attributes[n.OUTPUT_MESSAGES] = output_messages(note.answer)
    return attributes


_ATTEMPT_FIELDS = (
    (n.COST, "cost_usd"),
    (n.PRICE_SOURCE, "price_source"),
    (n.ACCEPTED, "accepted"),
    (n.CHECK_SCORE, "score"),
    (n.CHECK_REASON, "check_reason"),
    (n.HTTP_STATUS, "status_code"),
)
"""Attempt span attributes copied from the attempt's record when it has them."""


def _usage_attributes(attributes: Attributes, usage: dict[str, Any]) -> None:
    _put(attributes, n.INPUT_TOKENS, usage.get("input_tokens"))
    _put(attributes, n.OUTPUT_TOKENS, usage.get("output_tokens"))
    _put(attributes, n.CACHE_READ_TOKENS, _detail(usage, "input_token_details", "cache_read"))
    _put(attributes, n.REASONING_TOKENS, _detail(usage, "output_token_details", "reasoning"))


def _attempt_span(
    tracer: Tracer, parent: Any, call: CallTrace, note: AttemptNote, attempt: AttemptRecord
) -> None:
    attributes = attempt_attributes(call, note, attempt)
    span = tracer.start_span(
        f"{n.CHAT} {attributes[n.REQUEST_MODEL]}",
        context=parent,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        start_time=note.start_ns,
    )
    if note.error is not None:
        span.set_status(Status(StatusCode.ERROR, _error_description(call, note, attempt)))
    span.end(end_time=note.end_ns)


def _error_description(call: CallTrace, note: AttemptNote, attempt: AttemptRecord) -> str:
    """The provider's error as a span may show it. Its message often quotes the request
    ("Invalid prompt: '...'"), so only with content tracing on; a key it echoes never."""
    error = note.error
    assert error is not None
    if not call.content:
        status = attempt.get("status_code")
        return type(error).__name__ + ("" if status is None else f" (HTTP {status})")
    return _short(error_text(error, note.deployment.model))


def _skipped_events(span: Span, call: CallTrace, attempts: list[AttemptRecord]) -> None:
    """Attempts that never reached a provider, as events on the call's span: named as
    the ledger names them (``costrouter.model``), no request model, as none was made."""
    called = {note.index for note in call.attempts}
    for index, attempt in enumerate(attempts):
        if index in called or attempt.get("role", "answer") != "answer":
            continue
        if attempt.get("provider") == "cache" or not attempt.get("reason", "").startswith("skip"):
            continue
        span.add_event(
            n.SKIPPED_EVENT,
            {
                n.MODEL: attempt.get("model", ""),
                n.TIER: attempt.get("tier", 0),
                n.REASON: attempt.get("reason", ""),
            },
            timestamp=call.start_ns,
        )


def _cache_hit_span(
    tracer: Tracer, parent: Any, call: CallTrace, record: CostRouterMetadata, end_ns: int
) -> None:
    """A hit answers the whole call: its span covers the call, with what it avoided."""
    hit = (record.get("attempts") or [AttemptRecord()])[0]
    attributes: Attributes = {n.TASK: call.task}
    _put(attributes, n.SERVED_MODEL, hit.get("model"))
    _put(attributes, n.AVOIDED_COST, hit.get("avoided_cost_usd"))
    _put(attributes, n.SAVINGS_PREFIX + "cache", (record.get("savings_usd") or {}).get("cache"))
    _child(tracer, parent, n.CACHE_HIT_SPAN, call, attributes, call.start_ns, end_ns)


def _compression_span(
    tracer: Tracer, parent: Any, call: CallTrace, record: CostRouterMetadata
) -> None:
    note = call.compression
    assert note is not None
    compressor = [
        a.get("cost_usd") for a in record.get("attempts") or [] if a.get("role") == "compressor"
    ]
    attributes: Attributes = {
        n.TASK: call.task,
        n.TOKENS_BEFORE: note.tokens_before,
        n.TOKENS_AFTER: note.tokens_after,
        n.TOKENS_SAVED: record.get("compression_tokens_saved", 0),
    }
    _put(attributes, n.COMPRESSION_SAVED, record.get("compression_saved_usd"))
    if None not in compressor:
        attributes[n.COMPRESSOR_COST] = sum(c for c in compressor if c is not None)
    _put(attributes, n.COMPRESSION_FALLBACK, _fallback_reason(call, note.fallback_reason))
    _put(attributes, n.SAVINGS_PREFIX + "compression", _saving(record, "compression"))
    _child(tracer, parent, n.COMPRESS_SPAN, call, attributes, note.start_ns, note.end_ns)


def _batch_span(
    tracer: Tracer, parent: Any, call: CallTrace, record: CostRouterMetadata, end_ns: int
) -> None:
    """A call that answers a batch of items: how many, and what batching saved."""
    attributes: Attributes = {n.TASK: call.task, n.BATCH_SIZE: record.get("batch_size", 0)}
    _put(attributes, n.BATCH_ITEM_PROMPT_TOKENS, record.get("item_prompt_tokens"))
    _put(attributes, n.SAVINGS_PREFIX + "batching", _saving(record, "batching"))
    _child(tracer, parent, n.BATCH_SPAN, call, attributes, call.start_ns, end_ns)


def _child(
    tracer: Tracer,
    parent: Any,
    name: str,
    call: CallTrace,
    attributes: Attributes,
    start_ns: int,
    end_ns: int,
) -> None:
    span = tracer.start_span(
        f"{name} {call.task}", context=parent, attributes=attributes, start_time=start_ns
    )
    span.end(end_time=end_ns)


def _fallback_reason(call: CallTrace, reason: str | None) -> str | None:
    """Why compression fell back, as a span may show it: the compressor's error message
    (which may quote the prompt) and the number a check found lost or added (the
    prompt's own: an account, a PIN) only with content tracing on."""
    if reason is None or call.content:
        return reason
    reason = _COMPRESSOR_ERROR.sub(r"\1", reason)
    return _NUMBER.sub(r"a number \1", reason)


_COMPRESSOR_ERROR = re.compile(r"(compressor failed: [\w.]+): .*?(?=; message \d+: |$)", re.S)
_NUMBER = re.compile(r"\bnumber \S+ (of the original|in the compressed text)")


def _call_error(attempts: list[AttemptRecord]) -> str:
    """``error.type`` of a call that failed: the last attempt's error class."""
    for attempt in reversed(attempts):
        if attempt.get("error"):
            return str(attempt["error"])
    return n.OTHER_ERROR


def _saving(record: CostRouterMetadata, lever: str) -> float | None:
    return (record.get("savings_usd") or {}).get(lever)


def _detail(usage: dict[str, Any], details: str, key: str) -> Any:
    return (usage.get(details) or {}).get(key)


def _put(attributes: Attributes, key: str, value: Any) -> None:
    """Set ``key`` unless the value is unknown (OpenTelemetry drops None with a warning)."""
    if value is not None:
        attributes[key] = value


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["attempt_attributes", "call_attributes", "emit_spans"]
