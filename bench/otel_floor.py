"""The SDK's floor: what the telemetry issue 18 asks for, made by the SDK with no code of ours.

Per routed call that one provider attempt answers, issue 18 asks for a call span and
an attempt span (with the attributes it names) and the GenAI conventions' two client
histograms: one duration and two token usage measurements (input, output). `floor`
makes exactly these with the SDK and nothing else: attribute sets built beforehand
from a real call's record, parent and child linked as ours are. Whatever the SDK costs
for that, no instrumentation that meets the issue can avoid; `ours` runs our own
reporting (`Telemetry.emit`) on the same call, so ``ours - floor`` is our code's share.

The floor carries the conventions' attributes only (``costrouter.model``, which the
client metrics add, is ours, so its cost counts as ours).

Both run on providers configured as bench/otel.py configures them (batch span
processor with a dropping exporter, in-memory metric reader).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from langchain_costrouter.metadata import CostRouterMetadata
from langchain_costrouter.telemetry import Telemetry, flush
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import CallTrace
from langchain_costrouter.telemetry.deployments import deployment_attributes
from langchain_costrouter.telemetry.metrics import Instruments

Loop = Callable[[], None]


def captured_call(model: Any) -> tuple[Telemetry, CallTrace, CostRouterMetadata, int]:
    """One real call through ``model`` (a router with telemetry) and what it reported."""
    telemetry = model._current().telemetry
    assert isinstance(telemetry, Telemetry)
    seen: list[tuple[CallTrace, CostRouterMetadata, int]] = []
    emit = telemetry.emit
    telemetry.emit = lambda *args: seen.append(args)  # type: ignore[method-assign]
    try:
        model.invoke("What is the capital of France?")
        flush()
    finally:
        del telemetry.emit
    emit(*seen[0])
    return (telemetry, *seen[0])


def ours(model: BaseChatModel) -> Loop:
    """Our reporting of one captured call: spans and metrics as the worker makes them."""
    telemetry, call, record, end_ns = captured_call(model)
    return lambda: telemetry.emit(call, record, end_ns)


def floor(model: BaseChatModel) -> Loop:
    """The SDK alone making what issue 18 asks of the same call (see the module doc)."""
    telemetry, call, record, end_ns = captured_call(model)
    assert telemetry.tracer is not None and telemetry.instruments is not None
    tracer, instruments = telemetry.tracer, telemetry.instruments
    (note,) = call.attempts
    (attempt,) = record["attempts"]
    usage = attempt["usage"]
    call_attributes = _present(
        {
            n.TASK: call.task,
            n.SERVED_MODEL: record.get("served_by"),
            n.COST: record.get("cost_usd"),
            n.BASELINE: record.get("baseline_cost_usd"),
            n.CACHE_HIT: bool(record.get("cache_hit")),
            n.ESCALATED: bool(record.get("escalated")),
            n.POLICY: record.get("policy"),
        }
    )
    opening = deployment_attributes(note.deployment)  # as the conventions name them
    client = {
        n.OPERATION: n.CHAT,
        n.PROVIDER: opening[n.PROVIDER],
        n.REQUEST_MODEL: opening[n.REQUEST_MODEL],
        n.RESPONSE_MODEL: note.response_model,
    }
    attempt_attributes = _present(
        {
            **client,
            n.INPUT_TOKENS: usage["input_tokens"],
            n.OUTPUT_TOKENS: usage["output_tokens"],
            n.REQUEST_MAX_TOKENS: call.max_tokens,
            n.TASK: call.task,
            n.TIER: note.tier,
            n.COST: attempt.get("cost_usd"),
            n.CHECK_SCORE: attempt.get("score"),
            n.CHECK_REASON: attempt.get("check_reason"),
            n.USAGE_ESTIMATED: bool(attempt.get("usage_estimated")),
        }
    )
    duration_s = (note.end_ns - note.start_ns) / 1e9
    input_set = {**client, n.TOKEN_TYPE: "input"}
    output_set = {**client, n.TOKEN_TYPE: "output"}

    def loop() -> None:
        span = tracer.start_span(
            f"{n.ROUTE_SPAN} {call.task}",
            context=call.parent,
            kind=SpanKind.INTERNAL,
            attributes=call_attributes,
            start_time=call.start_ns,
        )
        child = tracer.start_span(
            f"{n.CHAT} {opening[n.REQUEST_MODEL]}",
            context=trace.set_span_in_context(span, call.parent),
            kind=SpanKind.CLIENT,
            attributes=attempt_attributes,
            start_time=note.start_ns,
        )
        child.end(end_time=note.end_ns)
        span.end(end_time=end_ns)
        _histograms(instruments, duration_s, usage, client, input_set, output_set)

    return loop


def _histograms(
    instruments: Instruments,
    duration_s: float,
    usage: Any,
    client: dict[str, Any],
    input_set: dict[str, Any],
    output_set: dict[str, Any],
) -> None:
    instruments.client.duration.record(duration_s, client)
    instruments.client.tokens.record(usage["input_tokens"], input_set)
    instruments.client.tokens.record(usage["output_tokens"], output_set)


def _present(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None}
