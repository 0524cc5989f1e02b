"""The attributes of a routed call's span and of its provider attempts' spans.

Read from the call's record and the notes taken while it ran (`calls`): README's
OpenTelemetry tables list them (tests/unit_tests/telemetry/test_readme_tables.py checks
that they match). `spans` makes the spans that carry them.
"""

from __future__ import annotations

from typing import Any

from langchain_costrouter.metadata import AttemptRecord, CostRouterMetadata
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import AttemptNote, CallTrace
from langchain_costrouter.telemetry.content import input_messages, output_messages
from langchain_costrouter.telemetry.deployments import deployment_attributes

Attributes = dict[str, Any]


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
    put_known(attributes, n.INPUT_TOKENS, usage.get("input_tokens"))
    put_known(attributes, n.OUTPUT_TOKENS, usage.get("output_tokens"))
    put_known(attributes, n.CACHE_READ_TOKENS, _detail(usage, "input_token_details", "cache_read"))
    put_known(attributes, n.REASONING_TOKENS, _detail(usage, "output_token_details", "reasoning"))


def _detail(usage: dict[str, Any], details: str, key: str) -> Any:
    return (usage.get(details) or {}).get(key)


def put_known(attributes: Attributes, key: str, value: Any) -> None:
    """Set ``key`` unless the value is unknown (OpenTelemetry drops None with a warning)."""
    if value is not None:
        attributes[key] = value


__all__ = ["Attributes", "attempt_attributes", "call_attributes", "put_known"]
