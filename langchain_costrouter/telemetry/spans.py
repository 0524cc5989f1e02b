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
because usage and cost are only known once the record exists; the call's and the
attempts' attributes are read from the record by `span_attributes`. The call's span carries
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
from langchain_costrouter.telemetry.span_attributes import (
    Attributes,
    attempt_attributes,
    call_attributes,
    put_known,
)


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
    put_known(attributes, n.SERVED_MODEL, hit.get("model"))
    put_known(attributes, n.AVOIDED_COST, hit.get("avoided_cost_usd"))
    put_known(
        attributes, n.SAVINGS_PREFIX + "cache", (record.get("savings_usd") or {}).get("cache")
    )
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
    put_known(attributes, n.COMPRESSION_SAVED, record.get("compression_saved_usd"))
    if None not in compressor:
        attributes[n.COMPRESSOR_COST] = sum(c for c in compressor if c is not None)
    put_known(attributes, n.COMPRESSION_FALLBACK, _fallback_reason(call, note.fallback_reason))
    put_known(attributes, n.SAVINGS_PREFIX + "compression", _saving(record, "compression"))
    _child(tracer, parent, n.COMPRESS_SPAN, call, attributes, note.start_ns, note.end_ns)


def _batch_span(
    tracer: Tracer, parent: Any, call: CallTrace, record: CostRouterMetadata, end_ns: int
) -> None:
    """A call that answers a batch of items: how many, and what batching saved."""
    attributes: Attributes = {n.TASK: call.task, n.BATCH_SIZE: record.get("batch_size", 0)}
    put_known(attributes, n.BATCH_ITEM_PROMPT_TOKENS, record.get("item_prompt_tokens"))
    put_known(attributes, n.SAVINGS_PREFIX + "batching", _saving(record, "batching"))
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


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["emit_spans"]
