"""The tiered cascade as a generator of I/O steps, with thin sync and async drivers.

`run_cascade` decides everything (which deployment next, retry or fail over,
accept or escalate, skip for budget) and yields `CallModel`, `RunCheck` and `Sleep`
steps; `drive` and `adrive` perform them with blocking or awaited I/O. One
implementation therefore serves invoke, ainvoke, batch and the buffered stream
(the httpx ``auth_flow`` pattern), and the policy can be tested without a provider.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage

from langchain_costrouter.breaker import CircuitBreakers
from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.errors import AllTiersFailedError, BudgetExceededError, ProviderError
from langchain_costrouter.faults import Fault, backoff_delay, classify
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.routes import Deployment, Route, Tier
from langchain_costrouter.steps import (
    Called,
    CallModel,
    Checked,
    RunCheck,
    Sleep,
    Step,
)

Pricer = Callable[[Deployment, AIMessage], AttemptRecord]
Estimator = Callable[[Deployment], float | None]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries per deployment; the router is the only retry loop."""

    max_retries: int = 2
    backoff_base: float = 0.25
    backoff_cap: float = 8.0


@dataclass
class CascadeOutcome:
    """The answer to return and every attempt that led to it."""

    message: AIMessage
    attempts: list[AttemptRecord]
    accepted: bool
    served_by: Deployment
    served: AttemptRecord
    """The attempt whose answer is returned (accepted, or the best effort)."""


@dataclass
class CascadeContext:
    """What the policy needs besides the route: pricing, budget, breakers, retries."""

    task: str
    price: Pricer
    price_side_call: Callable[[AIMessage], AttemptRecord]
    estimate_cost: Estimator
    breakers: CircuitBreakers
    retry: RetryPolicy
    rng: Any
    attempts: list[AttemptRecord]
    """Every attempt so far (the request's list, so a failed call still reaches the ledger)."""


# (score, tier index, answer, deployment, its attempt record) of each tier that answered
_Answered = tuple[float, int, AIMessage, Deployment, AttemptRecord]


def run_cascade(route: Route, ctx: CascadeContext) -> Generator[Step, Any, CascadeOutcome]:
    """Attempt tiers cheapest first; accept on a passing check, escalate otherwise."""
    attempts = ctx.attempts
    answered: list[_Answered] = []
    overflow_window: list[int | None] = []
    spent = 0.0
    for index, tier in enumerate(route.tiers):
        if _too_small(tier, overflow_window):
            attempts.append(_skip(tier, index, "skipped: context window too small"))
            continue
        estimate = ctx.estimate_cost(tier.primary) if route.max_cost_usd is not None else None
        if _over_budget(route, spent, estimate):
            attempts.append(_skip(tier, index, f"skipped: estimated ${estimate:.6f} over budget"))
            continue
        served = yield from _answer_from_tier(tier, index, ctx, attempts, overflow_window)
        if served is None:
            continue
        message, deployment, record = served
        spent += record.get("cost_usd") or 0.0
        previous = tuple(answer[2] for answer in answered)
        score = 1.0
        if tier.check is not None:
            score = yield from _score(tier.check, message, previous, record, ctx, attempts)
        answered.append((score, index, message, deployment, record))
        if tier.check is None or score >= tier.threshold:
            record["accepted"] = True
            record["reason"] = _accept_reason(tier, score)
            return CascadeOutcome(message, attempts, True, deployment, record)
        record["reason"] = f"escalated: score {score:.3f} < threshold {tier.threshold}"
        if checked_reason := record.get("check_reason"):
            record["reason"] += f" ({checked_reason})"
    return _best_effort(route, ctx, attempts, answered)


def _answer_from_tier(
    tier: Tier,
    index: int,
    ctx: CascadeContext,
    attempts: list[AttemptRecord],
    overflow_window: list[int | None],
) -> Generator[Step, Any, tuple[AIMessage, Deployment, AttemptRecord] | None]:
    """Try the tier's deployments in order, retrying transient faults on each."""
    for deployment in tier.deployments:
        if not ctx.breakers.allow(deployment.provider):
            attempts.append(_failed(deployment, index, "skipped: circuit open", None, 0.0))
            continue
        for retry in range(ctx.retry.max_retries + 1):
            called: Called = yield CallModel(deployment, index)
            if called.message is not None:
                record = _record_answer(ctx, deployment, index, called.message, called.latency_ms)
                return called.message, deployment, record
            fault = _fault_or_raise(called.error, deployment)
            attempts.append(
                _failed(deployment, index, f"error: {fault.kind}", fault, called.latency_ms)
            )
            if fault.kind == "context_overflow":
                overflow_window.append(deployment.context_window)
                return None
            ctx.breakers.record_failure(deployment.provider)
            if retry == ctx.retry.max_retries:
                break
            yield Sleep(
                backoff_delay(
                    retry,
                    fault,
                    base=ctx.retry.backoff_base,
                    cap=ctx.retry.backoff_cap,
                    rng=ctx.rng,
                )
            )
    return None


def _record_answer(
    ctx: CascadeContext, deployment: Deployment, index: int, message: AIMessage, latency_ms: float
) -> AttemptRecord:
    """A priced attempt for an answer that came back (not yet accepted)."""
    ctx.breakers.record_success(deployment.provider)
    record = ctx.price(deployment, message)
    record.update({"tier": index, "latency_ms": latency_ms, "accepted": False})
    ctx.attempts.append(record)
    return record


def decided_by_first_call(route: Route, breakers: CircuitBreakers) -> Deployment | None:
    """The deployment whose answer ends the cascade if its first call succeeds.

    When tier 0 has no check, no budget applies and its first provider's breaker is
    closed, the cascade's first step and its outcome on success are known before it
    runs; the pipeline then makes that call directly and only starts the cascade (primed
    with that call's failure) when it fails. It saves the step machinery on the most
    common call, routing without escalation.
    """
    tier = route.tiers[0]
    if tier.check is not None or route.max_cost_usd is not None:
        return None
    deployment = tier.deployments[0]
    return deployment if breakers.is_closed(deployment.provider) else None


def accept_first_answer(
    attempts: list[AttemptRecord],
    breakers: CircuitBreakers,
    deployment: Deployment,
    message: AIMessage,
    record: AttemptRecord,
) -> CascadeOutcome:
    """The outcome the cascade reaches when `decided_by_first_call`'s call answers.

    Takes the parts of a `CascadeContext` it needs rather than one: this path is
    the common call, and it builds no context.
    """
    breakers.record_success(deployment.provider)
    record.update({"tier": 0, "accepted": True, "reason": "accepted"})
    attempts.append(record)
    return CascadeOutcome(message, attempts, True, deployment, record)


def _fault_or_raise(error: BaseException | None, deployment: Deployment) -> Fault:
    """Classify a failed call; errors that no tier can fix are raised at once."""
    assert error is not None
    fault = classify(error)
    if fault is None:
        raise error
    if not fault.escalates:
        raise ProviderError(
            f"{deployment.label} rejected the request ({fault.error_type}: {fault.message}). "
            "This is not retryable: check the API key, the model name and the request.",
            model=deployment.model_id,
            provider=deployment.provider,
            retryable=False,
            kind=fault.kind,
        ) from error
    return fault


def _score(
    check: QualityCheck,
    message: AIMessage,
    previous: tuple[AIMessage, ...],
    record: AttemptRecord,
    ctx: CascadeContext,
    attempts: list[AttemptRecord],
) -> Generator[Step, Any, float]:
    """Run the tier's check; a judge's own call becomes an attempt in the ledger."""
    checked: Checked = yield RunCheck(check, message, previous)
    record["score"] = checked.score
    if checked.reason:
        record["check_reason"] = checked.reason
    for side_call in checked.side_calls:
        side = ctx.price_side_call(side_call)
        side.update(
            {
                "tier": record.get("tier", 0),
                "accepted": False,
                "role": "judge",
                "reason": f"quality check of {record.get('model')}",
            }
        )
        attempts.append(side)
    return checked.score


def _best_effort(
    route: Route,
    ctx: CascadeContext,
    attempts: list[AttemptRecord],
    answered: list[_Answered],
) -> CascadeOutcome:
    """No tier passed: return the best-scoring answer, marked as not accepted."""
    if not answered:
        if any(a.get("reason", "").startswith("skipped: estimated") for a in attempts):
            raise BudgetExceededError(ctx.task, route.max_cost_usd, list(attempts))
        raise AllTiersFailedError(ctx.task, [dict(a) for a in attempts])
    _, _, message, deployment, record = max(answered, key=lambda item: (item[0], item[1]))
    record["reason"] = "best effort: no tier passed its check"
    return CascadeOutcome(message, attempts, False, deployment, record)


def _too_small(tier: Tier, overflow_window: list[int | None]) -> bool:
    if not overflow_window or overflow_window[-1] is None:
        return False
    window = tier.primary.context_window
    return window is not None and window <= overflow_window[-1]


def _over_budget(route: Route, spent: float, estimate: float | None) -> bool:
    if route.max_cost_usd is None or estimate is None:
        return False
    return spent + estimate > route.max_cost_usd


def _accept_reason(tier: Tier, score: float) -> str:
    return "accepted" if tier.check is None else f"accepted: score {score:.3f}"


def _skip(tier: Tier, index: int, reason: str) -> AttemptRecord:
    deployment = tier.primary
    return AttemptRecord(
        model=deployment.model_id,
        provider=deployment.provider,
        tier=index,
        usage={},
        cost_usd=0.0,
        accepted=False,
        reason=reason,
    )


def _failed(
    deployment: Deployment, index: int, reason: str, fault: Fault | None, latency_ms: float
) -> AttemptRecord:
    return AttemptRecord(
        model=deployment.model_id,
        provider=deployment.provider,
        tier=index,
        usage={},
        cost_usd=0.0,
        accepted=False,
        reason=reason,
        error=fault.error_type if fault else None,
        latency_ms=latency_ms,
    )
