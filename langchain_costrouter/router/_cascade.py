"""The tiered cascade: cheapest tier first, escalate on a failed check or a provider fault.

`run_cascade` decides everything (which deployment next, retry or fail over, accept or
escalate, skip for the budget) and yields `CallModel`, `RunCheck` and `Sleep` steps;
a driver performs them. What each attempt leaves in the call's record, and which
failures end the call, is `router._attempts`.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from langchain_core.messages import AIMessage

from langchain_costrouter.budgets.media import media_tokens
from langchain_costrouter.errors import AllTiersFailedError, BudgetExceededError
from langchain_costrouter.metadata import BEST_EFFORT_REASON, AttemptRecord, CallSink
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._attempts import (
    answered_attempt,
    circuit_open,
    failed_attempt,
    output_cap,
    raise_if_final,
    skipped,
)
from langchain_costrouter.router._breakers import Admission, CircuitBreakers
from langchain_costrouter.router._budget import Budgets, hold, settle
from langchain_costrouter.router._faults import ProviderFault, backoff_delay
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Called, CallModel, Sleep, Step
from langchain_costrouter.router._verdicts import run_check
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
    ledger: CallSink | None = None
    """The router's ledger: a judge that is a router on it leaves its rows to the call."""


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
_Answer = tuple[AIMessage, Deployment, AttemptRecord]


class _Next(Enum):
    FAIL_OVER = "fail over"
    """Not called (a local rate limit): on to the tier's next deployment."""


# What one attempt came to (`_attempt`): an answer, a retryable fault, the deployment
# whose context window was too small, or a fail-over.
_Tried = _Answer | ProviderFault | Deployment | _Next


def run_cascade(request: Request, parts: CascadeParts) -> _Cascade:
    """Attempt tiers cheapest first; accept on a passing check, escalate otherwise."""
    route = request.route
    answered: list[_Answered] = []
    overflow_window: list[int | None] = []
    spent = 0.0
    for index, tier in enumerate(route.tiers):
        if _too_small(tier, overflow_window):
            request.attempts.append(skipped(tier, index, "skipped: context window too small"))
            continue
        if route.max_cost_usd is not None:
            estimate = _estimate(request, parts, tier.primary)
            if estimate is not None and spent + estimate > route.max_cost_usd:
                reason = f"skipped: estimated ${estimate:.6f} over budget"
                request.attempts.append(skipped(tier, index, reason))
                continue
        served = yield from _answer_from_tier(request, parts, tier, index, overflow_window)
        if served is None:
            continue
        message, deployment, record = served
        spent += record.get("cost_usd") or 0.0
        judge = _judging_tier(route, tier, deployment, record)
        score = 1.0
        if judge.check is not None:
            asked = (message, tuple(answer[2] for answer in answered))
            score = yield from run_check(
                request, parts.accountant, parts.budgets, parts.ledger, judge.check, record, asked
            )
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
) -> Generator[Step, Any, _Answer | None]:
    """Try the tier's deployments in order, retrying transient faults on each."""
    breakers, retry = parts.breakers, parts.retry
    checked = tier.check is not None
    for planned in tier.deployments:
        for attempt in range(retry.max_retries + 1):
            admitted = breakers.admit(planned.breaker_key)
            if circuit_open(request, planned, index, not admitted):
                break  # open before the call, or opened during its retries: fail over
            trial = admitted is Admission.TRIAL
            tried = yield from _attempt(request, parts, planned, index, checked, trial)
            if tried is _Next.FAIL_OVER:
                break
            if isinstance(tried, Deployment):  # its context window is too small
                overflow_window.append(tried.context_window)
                return None
            if not isinstance(tried, ProviderFault):
                return tried
            if attempt == retry.max_retries:
                break
            if circuit_open(request, planned, index, breakers.refuses(planned.breaker_key)):
                break  # no backoff for a retry the breaker would refuse after it
            delay = backoff_delay(
                attempt, tried, base=retry.backoff_base, cap=retry.backoff_cap, rng=parts.rng
            )
            yield Sleep(delay)
    return None


def _attempt(
    request: Request,
    parts: CascadeParts,
    planned: Deployment,
    index: int,
    checked: bool,
    trial: bool,
) -> Generator[Step, Any, _Tried]:
    """One attempt on ``planned``: its budget and rate slot, the call, what it left.

    Returns the answer; the retryable fault, reported to the breaker; the deployment
    whose context window was too small; or `_Next.FAIL_OVER` (a local rate limit, a
    downgrade to a deployment whose breaker refuses it). Each half-open trial taken for
    it (``trial``, ``planned``'s; the deployment a budget downgraded it to may give one
    too) is reported with the call's outcome, or else released however the attempt ends
    (refused by a budget, sent to another deployment, a context overflow, a fatal
    error, cancelled), so the next call may try (`_breakers.CircuitBreakers.release`):
    unreleased, the breaker would refuse the deployment for the rest of the process.
    """
    breakers, budgets = parts.breakers, parts.budgets
    owed = [planned.breaker_key] if trial else []  # trials to report, else to release
    try:
        deployment, held = planned, None
        if budgets.enabled:
            held = yield from hold(request, budgets, breakers, planned, index, owed)
            if held is None:
                return _Next.FAIL_OVER
            deployment = held.deployment
        called: Called = yield CallModel(deployment, index, checked)
        if called.message is not None:
            breakers.record_success(deployment.breaker_key)
            owed = [key for key in owed if key != deployment.breaker_key]
            record = answered_attempt(request, parts.accountant, called, deployment, index)
            if held is not None:
                yield from settle(request, budgets, held, record)
                if held.downgraded_by is not None:
                    record["downgraded_by"] = held.downgraded_by
            return called.message, deployment, record
        fault, failed = failed_attempt(request, parts.accountant, called, deployment, index)
        if held is not None:
            yield from settle(request, budgets, held, failed)
        raise_if_final(request, fault, called, deployment)
        if fault.kind == "context_overflow":
            return deployment
        breakers.record_failure(deployment.breaker_key)
        owed = [key for key in owed if key != deployment.breaker_key]
        return fault
    finally:
        for key in owed:
            breakers.release(key)


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
    """Upper estimate of one attempt's cost, for the per-request budget: the prompt's
    words, images, audio and files (an image alone is thousands of tokens; counted only
    on a route with ``max_cost_usd``), and the output cap."""
    max_tokens = output_cap(deployment, request.kwargs) or parts.default_max_tokens
    media = media_tokens(request.messages, deployment.priced_as, deployment.provider)
    return parts.accountant.estimate(deployment, request.prompt_tokens, max_tokens, media)


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
