"""Shared budgets and rate limits around each provider attempt, as steps of the cascade.

Before an attempt (`hold`): reserve the attempt's worst case on every budget of the
call (or a cheaper deployment's, if a budget downgrades the call and that deployment's
circuit breaker admits it), then take the deployment's rate-limit slot (a local limit is
treated like a busy provider: wait up to the retry policy's longest backoff, else fail
over). In that order a refused call consumes nothing: a budget's refusal comes before
any slot is taken (taken first, a call that never reached the provider used up one of
its requests), and a slot not granted, or a breaker that refuses, gives the reservation
back. While the attempt runs, its lease is renewed
(`budgets.BudgetGate.keep`), so a call longer than the lease keeps its worst case held.
After the attempt: settle to the real cost (a
failure releases what it did not spend; a cut stream pays for what it delivered). A
call cancelled meanwhile (its rate-limit wait too) is settled by its driver
(`_io.RouterIO.release`).
A side call (a compressor's, a judge's) reserves nothing: its cost is charged once it
answered; one with no price is refused, never charged $0 (`_unpriced`).
A router without budgets or rate limits has a gate that is not ``enabled``: the cascade
yields none of these steps for it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_costrouter.budgets import Gate, RateGrant, Reservation, Settlement, WorstCase
from langchain_costrouter.budgets.media import MediaTokens, media_tokens
from langchain_costrouter.errors import BudgetExhaustedError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._attempts import circuit_open, failed_record, output_cap
from langchain_costrouter.router._breakers import Admission, CircuitBreakers
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import AcquireRate, Downgrade, Reserve, Settle, Sleep, Step
from langchain_costrouter.routes import Deployment


@dataclass(frozen=True, slots=True)
class Budgets:
    """The cascade's budget collaborators: the gate, and the worst-case estimator."""

    gate: Gate
    worst_case: WorstCase
    max_wait: float
    """Seconds a call may wait for a local rate limit before it fails over."""

    @property
    def enabled(self) -> bool:
        return self.gate.enabled


@dataclass(frozen=True, slots=True)
class Held:
    """The deployment an attempt goes to, and the budget held for it."""

    deployment: Deployment
    reservation: Reservation
    downgraded_by: str | None = None
    """The budget that sent the call to a cheaper deployment, when one did."""


def hold(
    request: Request,
    budgets: Budgets,
    breakers: CircuitBreakers,
    planned: Deployment,
    index: int,
    owed: list[str],
) -> Generator[Step, Any, Held | None]:
    """Budget, then rate limit, for one attempt on ``planned`` (of tier ``index``); None
    when the attempt fails over instead, its skip recorded and nothing held.

    A budget may send the call to a cheaper deployment. That one's breaker is asked as
    ``planned``'s was, or a downgrade would call an endpoint known to be dead; refused,
    the downgrade is skipped (``skipped: circuit open``) before its rate slot is taken,
    and its reservation given back. A half-open trial it gives is added to ``owed``,
    which the attempt reports with its outcome or releases (`_cascade._attempt`).

    Raises:
        BudgetExhaustedError: a budget refused, and none lets the call be downgraded.
    """
    cap = output_cap(planned, request.kwargs)
    worst = _worst_case(request, budgets, planned, cap)
    reserved = yield Reserve(planned, worst)
    if isinstance(reserved, BudgetExhaustedError):
        held = yield from _downgrade(request, budgets, breakers, reserved, cap)
    else:
        held = Held(planned, reserved)
    request.held = held.reservation  # a call cancelled from here on gives it back
    budgets.gate.keep(held.reservation)  # renewed until settled: a long stream keeps it
    if not _admitted(request, breakers, planned, held, index, owed):
        yield from settle(request, budgets, held, None)  # given back: the call goes elsewhere
        return None
    limited = yield from _rate_slot(request, budgets, held.deployment, cap)
    if limited is None:
        return held
    yield from settle(request, budgets, held, None)
    request.attempts.append(failed_record(planned, index, _held_back(held, limited), None, None))
    return None


def _admitted(
    request: Request,
    breakers: CircuitBreakers,
    planned: Deployment,
    held: Held,
    index: int,
    owed: list[str],
) -> bool:
    """Whether the breaker of the deployment a budget downgraded the call to admits it
    (recorded skipped if not; its trial added to ``owed``). ``planned``'s own was asked
    before the attempt, and is not asked again: its trial may be this call's."""
    key = held.deployment.breaker_key
    if held.downgraded_by is None or key == planned.breaker_key:
        return True
    admission = breakers.admit(key)
    if circuit_open(request, held.deployment, index, not admission):
        request.attempts[-1]["downgraded_by"] = held.downgraded_by
        return False
    if admission is Admission.TRIAL:
        owed.append(key)
    return True


def _held_back(held: Held, limited: str) -> str:
    if held.downgraded_by is None:
        return f"skipped: {limited}"
    return f"skipped: downgrade to {held.deployment.label} held back by its {limited}"


def _worst_case(
    request: Request, budgets: Budgets, deployment: Deployment, cap: int | None
) -> Decimal:
    """The dollars to reserve: the attempt's worst case, or nothing when the gate holds
    rate limits only (no budget to reserve on, so an unpriced model is no obstacle)."""
    if not budgets.gate.budgets:
        return Decimal(0)
    return budgets.worst_case.usd(
        deployment, request.prompt_tokens, cap, _media(request, deployment)
    )


def _rate_slot(
    request: Request, budgets: Budgets, deployment: Deployment, cap: int | None
) -> Generator[Step, Any, str | None]:
    """Take the deployment's rate-limit slot, waiting for it if that fits; else why not."""
    if deployment.label not in budgets.gate.rate_limits:
        return None  # no limit on it: no tokens to count, no slot to take
    bound = cap or budgets.worst_case.output_bound(deployment.label)
    prompt = request.prompt_tokens + _media(request, deployment).total
    grant: RateGrant = yield AcquireRate(deployment, prompt + bound, budgets.max_wait)
    if not grant.granted:
        return f"rate limit (a {grant.wait_seconds:.1f} s wait)"
    if grant.wait_seconds > 0:
        yield Sleep(grant.wait_seconds)
    return None


def _media(request: Request, deployment: Deployment) -> MediaTokens:
    """The prompt's images, audio and files in ``deployment``'s tokens: its words alone
    (`Request.prompt_tokens`) leave them out, by thousands of tokens per image."""
    return media_tokens(request.messages, deployment.priced_as, deployment.provider)


def settle(
    request: Request, budgets: Budgets, held: Held, attempt: AttemptRecord | None
) -> Generator[Step, Any, None]:
    """Settle the attempt's reservation to what it cost (nothing, if it failed unpaid)."""
    request.held = None
    cost = 0.0 if attempt is None else attempt.get("cost_usd")
    settlement: Settlement = yield Settle(held.reservation, cost)
    if attempt is not None and (output := (attempt.get("usage") or {}).get("output_tokens")):
        over_cap = bool(attempt.get("output_cap_exceeded"))
        budgets.worst_case.observe(held.deployment.label, int(output), over_cap=over_cap)
    if settlement.soft_limits_crossed:
        warnings = request.extra.setdefault("budget_warnings", [])
        warnings.extend(crossed.label for crossed in settlement.soft_limits_crossed)


def _downgrade(
    request: Request,
    budgets: Budgets,
    breakers: CircuitBreakers,
    refusal: BudgetExhaustedError,
    cap: int | None,
) -> Generator[Step, Any, Held]:
    """A budget that allows it sends the call to the cheapest deployment that fits (no
    slot of the deployment it refused was taken), among those whose breaker does not
    refuse: the cheapest being down must not leave every downgrade skipped while a
    healthy one fits. With every breaker refusing, the cheapest is chosen, and skipped."""
    if not refusal.downgrade:
        raise refusal
    deployments = request.route.deployments
    healthy = [d for d in deployments if not breakers.refuses(d.breaker_key)]
    by_label = {d.label: d for d in healthy or deployments}
    options = tuple(
        (label, budgets.worst_case.usd(d, request.prompt_tokens, cap, _media(request, d)))
        for label, d in by_label.items()
    )
    chosen = yield Downgrade(options)
    if isinstance(chosen, BudgetExhaustedError):
        raise chosen
    label, reservation = chosen
    return Held(by_label[label], reservation, downgraded_by=refusal.budget_name)
