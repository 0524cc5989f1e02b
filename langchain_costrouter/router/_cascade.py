"""The tiered cascade: cheapest tier first, escalate on a failed check or a provider fault.

`run_cascade` decides everything (which deployment next, retry or fail over, accept or
escalate, skip for the budget) and yields `CallModel`, `RunCheck` and `Sleep` steps;
a driver performs them. Every attempt, failed and skipped ones too, is appended to the
request's list as it happens, so a call that ends in an error still reaches the ledger
with what it spent.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage

from langchain_costrouter._secrets import error_text
from langchain_costrouter.checks.base import CheckResult
from langchain_costrouter.errors import AllTiersFailedError, BudgetExceededError, ProviderError
from langchain_costrouter.metadata import BEST_EFFORT_REASON, AttemptRecord
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._breakers import CircuitBreakers
from langchain_costrouter.router._budget import Budgets, hold, settle
from langchain_costrouter.router._faults import ProviderFault, backoff_delay, classify
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Called, CallModel, Charge, RunCheck, Sleep, Step
from langchain_costrouter.routes import Deployment, Route, Tier


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries per deployment; the router is the only retry loop."""

    max_retries: int = 2
    backoff_base: float = 0.25
    backoff_cap: float = 8.0


@dataclass(frozen=True, slots=True)
class CascadeParts:
    """What the policy needs besides the request: prices, breakers, retries, budgets."""

    accountant: Accountant
    breakers: CircuitBreakers
    retry: RetryPolicy
    rng: random.Random
    default_max_tokens: int
    budgets: Budgets


@dataclass(slots=True)
class CascadeOutcome:
    """The answer to return, whether it was accepted, and the attempt that produced it."""

    message: AIMessage
    accepted: bool
    served_by: Deployment
    served: AttemptRecord


# (score, tier index, answer, deployment, its attempt record) of each tier that answered
_Answered = tuple[float, int, AIMessage, Deployment, AttemptRecord]
_Cascade = Generator[Step, Any, CascadeOutcome]


def run_cascade(request: Request, parts: CascadeParts) -> _Cascade:
    """Attempt tiers cheapest first; accept on a passing check, escalate otherwise."""
    route = request.route
    answered: list[_Answered] = []
    overflow_window: list[int | None] = []
    spent = 0.0
    for index, tier in enumerate(route.tiers):
        if _too_small(tier, overflow_window):
            request.attempts.append(_skip(tier, index, "skipped: context window too small"))
            continue
        if route.max_cost_usd is not None:
            estimate = _estimate(request, parts, tier.primary)
            if estimate is not None and spent + estimate > route.max_cost_usd:
                reason = f"skipped: estimated ${estimate:.6f} over budget"
                request.attempts.append(_skip(tier, index, reason))
                continue
        served = yield from _answer_from_tier(request, parts, tier, index, overflow_window)
        if served is None:
            continue
        message, deployment, record = served
        spent += record.get("cost_usd") or 0.0
        judge = _judging_tier(route, tier, deployment, record)
        score = 1.0
        if judge.check is not None:
            previous = tuple(answer[2] for answer in answered)
            result: CheckResult = yield RunCheck(judge.check, message, previous)
            score, judged = _scored(request, parts, record, result)
            if judged and parts.budgets.enabled:
                yield Charge("judge", judged)
        answered.append((score, index, message, deployment, record))
        if judge.check is None or score >= judge.threshold:
            record["accepted"] = True
            record["reason"] = "accepted" if judge.check is None else f"accepted: score {score:.3f}"
            return CascadeOutcome(message, True, deployment, record)
        record["reason"] = f"escalated: score {score:.3f} < threshold {judge.threshold}"
        if checked_reason := record.get("check_reason"):
            record["reason"] += f" ({checked_reason})"
        if record.get("downgraded_by"):
            break  # the budget allows nothing dearer: escalating would be refused too
    return _best_effort(request, answered)


def _answer_from_tier(
    request: Request,
    parts: CascadeParts,
    tier: Tier,
    index: int,
    overflow_window: list[int | None],
) -> Generator[Step, Any, tuple[AIMessage, Deployment, AttemptRecord] | None]:
    """Try the tier's deployments in order, retrying transient faults on each."""
    breakers, retry, budgets = parts.breakers, parts.retry, parts.budgets
    checked = tier.check is not None
    for planned in tier.deployments:
        if not breakers.allow(planned.breaker_key):
            request.attempts.append(_failed(planned, index, "skipped: circuit open", None, 0.0))
            continue
        for attempt in range(retry.max_retries + 1):
            deployment, held = planned, None
            if budgets.enabled:
                cap = output_cap(planned, request.kwargs)
                got = yield from hold(request, budgets, planned, cap)
                if isinstance(got, str):  # a local rate limit: fail over like a busy provider
                    request.attempts.append(_failed(planned, index, got, None, None))
                    break
                deployment, held = got.deployment, got
            called: Called = yield CallModel(deployment, index, checked)
            if called.message is not None:
                breakers.record_success(deployment.breaker_key)
                record = parts.accountant.attempt(deployment, called.message, request.messages)
                record.update({"tier": index, "latency_ms": called.latency_ms, "accepted": False})
                if _over_cap(request, deployment, record):
                    record["output_cap_exceeded"] = True
                request.attempts.append(record)
                if held is not None:
                    yield from settle(request, budgets, held, record)
                    if held.downgraded_by is not None:
                        record["downgraded_by"] = held.downgraded_by
                return called.message, deployment, record
            fault, failed = _failed_attempt(request, parts, called, deployment, index)
            if held is not None:
                yield from settle(request, budgets, held, failed)
            _raise_if_final(fault, called, deployment)
            if fault.kind == "context_overflow":
                overflow_window.append(deployment.context_window)
                return None
            breakers.record_failure(deployment.breaker_key)
            if attempt == retry.max_retries:
                break
            delay = backoff_delay(
                attempt, fault, base=retry.backoff_base, cap=retry.backoff_cap, rng=parts.rng
            )
            yield Sleep(delay)
    return None


def _failed_attempt(
    request: Request, parts: CascadeParts, called: Called, deployment: Deployment, index: int
) -> tuple[ProviderFault, AttemptRecord]:
    """Record a failed attempt (a cut stream is priced on what it delivered).

    An error that is not a provider's (a bug in the caller's code) propagates as it is.
    """
    error = called.error
    assert error is not None
    fault = classify(error)
    if fault is None:
        raise error
    failed = _failed(deployment, index, f"error: {fault.kind}", fault, called.latency_ms)
    if called.partial is not None:
        failed.update(parts.accountant.attempt(deployment, called.partial, request.messages))
        failed.update({"tier": index, "accepted": False, "reason": "error: stream cut"})
    request.attempts.append(failed)
    return fault, failed


def _raise_if_final(fault: ProviderFault, called: Called, deployment: Deployment) -> None:
    """Raise when no retry or later tier can fix the failure.

    A fatal provider error (bad key, bad request) becomes a `ProviderError` at once; a
    stream that broke after reaching the caller cannot be retried without repeating text.
    """
    error = called.error
    assert error is not None  # a fault is a classified error
    if called.partial is not None:
        raise ProviderError(
            f"{deployment.label} cut the stream after part of the answer ({fault.error_type}). "
            "The partial answer was already streamed, so it was not retried; retry the call, "
            "or add a quality check to the route's first tier to buffer its answers.",
            model=deployment.model_id,
            provider=deployment.provider,
            retryable=True,
            kind="stream_cut",
        ) from error
    if not fault.escalates:
        raise ProviderError(
            f"{deployment.label} rejected the request "
            f"({fault.error_type}: {error_text(error, deployment.model)}). "
            "This is not retryable: check the API key, the model name and the request.",
            model=deployment.model_id,
            provider=deployment.provider,
            retryable=False,
            kind=fault.kind,
        ) from error


def _scored(
    request: Request, parts: CascadeParts, record: AttemptRecord, result: CheckResult
) -> tuple[float, float]:
    """Note the check's verdict on the attempt; a judge's own calls become attempts.

    Returns the score and what the judge's calls cost (for the call's budgets).
    """
    record["score"] = result.score
    if result.reason:
        record["check_reason"] = result.reason
    judged = 0.0
    for side_call in result.cost_messages:
        side = parts.accountant.side_call(side_call, request.messages, "judge")
        side.update(
            {
                "tier": record.get("tier", 0),
                "accepted": False,
                "role": "judge",
                "reason": f"quality check of {record.get('model')}",
            }
        )
        request.attempts.append(side)
        judged += side.get("cost_usd") or 0.0
    return result.score, judged


def _judging_tier(route: Route, tier: Tier, deployment: Deployment, record: AttemptRecord) -> Tier:
    """The tier whose check an answer must pass: its own, or, for an answer a budget
    downgraded to a cheaper deployment, that deployment's tier (an answer the cheap
    tier's check would reject is never accepted because a dearer tier has no check)."""
    if not record.get("downgraded_by") or _holds(tier, deployment):
        return tier
    return next((other for other in route.tiers if _holds(other, deployment)), tier)


def _holds(tier: Tier, deployment: Deployment) -> bool:
    return any(candidate is deployment for candidate in tier.deployments)


def _estimate(request: Request, parts: CascadeParts, deployment: Deployment) -> float | None:
    """Upper estimate of one attempt's cost, for the per-request budget."""
    max_tokens = output_cap(deployment, request.kwargs) or parts.default_max_tokens
    return parts.accountant.estimate(deployment, request.prompt_tokens, max_tokens)


def output_cap(deployment: Deployment, kwargs: dict[str, Any]) -> int | None:
    """The output cap a call asks for: the call's own, else the model's; None if none."""
    if kwargs:
        for key in ("max_tokens", "max_completion_tokens"):
            value = kwargs.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return deployment.output_cap


def _over_cap(request: Request, deployment: Deployment, record: AttemptRecord) -> bool:
    """More output than the cap: a server ignored it, so a budget cannot trust caps there."""
    cap = output_cap(deployment, request.kwargs)
    output = (record.get("usage") or {}).get("output_tokens")
    return cap is not None and isinstance(output, int) and output > cap


def _best_effort(request: Request, answered: list[_Answered]) -> CascadeOutcome:
    """No tier passed: return the best-scoring answer, marked as not accepted."""
    attempts = request.attempts
    if not answered:
        if any(a.get("reason", "").startswith("skipped: estimated") for a in attempts):
            raise BudgetExceededError(request.task, request.route.max_cost_usd, list(attempts))
        raise AllTiersFailedError(request.task, [dict(a) for a in attempts])
    _, _, message, deployment, record = max(answered, key=lambda item: (item[0], item[1]))
    record["reason"] = BEST_EFFORT_REASON
    return CascadeOutcome(message, False, deployment, record)


def _too_small(tier: Tier, overflow_window: list[int | None]) -> bool:
    if not overflow_window or overflow_window[-1] is None:
        return False
    window = tier.primary.context_window
    return window is not None and window <= overflow_window[-1]


def _skip(tier: Tier, index: int, reason: str) -> AttemptRecord:
    return _failed(tier.primary, index, reason, None, None)


def _failed(
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
    if fault is not None:
        record["error"] = fault.error_type
        record["status_code"] = fault.status_code
    if latency_ms is not None:
        record["latency_ms"] = latency_ms
    return record
