"""Shadow evaluation's own calls under the router's budgets and rate limits, as an attempt.

The reference model's call and each judge call of a sampled answer reserve their worst
case before they are made, as a cascade attempt does (`_budget.hold`: the prompt's
tokens, its images, audio and files by their provider's rule (`budgets.media`), the
call's output cap or the deployment's learned bound, `budgets.WorstCase`), keep that
reservation while they run (`budgets.BudgetGate.keep`: a call longer than the lease
still holds it), settle to their cost once answered, and give it back when they fail.
Spent off the request path, nothing else would bound them: a global limit of $X let the
evaluation spend past $X, at whatever rate the sampling asked for.

Which budgets: the ones over every call (``per=None``) and the per-task ones, in the
sampled call's task. They limit what the application spends, in all or on a task, and
the evaluation is the application's spend on that task. A budget scoped by run metadata
(``per="tenant"``) limits what a caller's own calls spend: the caller never asked for
the evaluation, so counting it there would refuse (and bill) the caller's next calls
for the application's sampling (`budgets.BudgetGate.without_caller_budgets`).

After its reservation, each call takes its deployment's rate-limit slot (the router's
`RateLimit`, shared through the budget store), as an attempt does: a provider counts
these requests and tokens with the user's, and past its limit it answers the user's
calls with 429s. The evaluation is the one that gives way: a slot not granted within
`RATE_WAIT_SECONDS` (a slot granted later is booked ahead of the user's next calls)
gives the reservation back and drops the sample.

A refusal raises `OverBudgetError`, which drops the sample: `_shadow_eval` counts it and
stores nothing, and it never reaches the user, whose call ended before the sample was
evaluated. A slot not granted raises `RateLimitedError`, dropped and counted the same
way. A budget store that is down, under ``on_budget_store_error="refuse"``, raises
`BudgetStoreDownError` and drops the sample the same way, counted apart: no budget is
short then, the store is (under ``"allow"`` the gate lets the call through, warned).
Without budgets or rate limits on the call, nothing here counts its tokens or media.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_costrouter.budgets import CallContext, Reservation
from langchain_costrouter.budgets.media import MediaTokens, media_tokens
from langchain_costrouter.errors import BudgetExhaustedError, BudgetStoreError, ConfigError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._attempts import output_cap
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.routes import Deployment
from langchain_costrouter.tokens import count_messages, count_prompt_kwargs

RATE_WAIT_SECONDS = 1.0
"""The longest a shadow call waits for its rate-limit slot before its sample is dropped.
A slot granted after a wait is taken now for later, from the user's next calls: a
sample is worth less than their wait, so the evaluation waits only this long."""


class OverBudgetError(Exception):
    """A budget refused a shadow call's reservation: the sample is dropped, not failed."""


class RateLimitedError(Exception):
    """A shadow call's deployment had no rate-limit slot within `RATE_WAIT_SECONDS`: the
    sample is dropped, not failed (its reservation was given back)."""


class BudgetStoreDownError(Exception):
    """The budget store could not take a shadow call's reservation (it is down and the
    router refuses calls it cannot check): the sample is dropped, not failed."""


class ShadowBudgets:
    """Reserve, keep, settle and release the shadow's calls on the budgets that apply to
    them, and take their rate-limit slots.

    Args:
        budgets: The router's budget collaborator (its gate and worst-case estimator).
        models: ``(config key, deployment)`` of the reference model and the judge: under
            such budgets each needs a price, or no reservation could hold its calls.

    Raises:
        ConfigError: a budget applies and a model has no price.
    """

    def __init__(self, budgets: Budgets, models: Iterable[tuple[str, Deployment]]) -> None:
        self._gate = budgets.gate.without_caller_budgets()
        self._worst = budgets.worst_case
        if not self._gate.budgets:  # rate limits alone need no price
            return
        for key, deployment in models:
            if not self._worst.prices.knows(deployment.priced_as, provider=deployment.provider):
                raise ConfigError(
                    f"model {deployment.priced_as!r} has no price, so no budget can hold the "
                    "shadow evaluation's calls to it (an unknown price is never $0). Give it "
                    "one with PriceTable(overrides={...: ModelPrice(...)}) or a price in its "
                    "[models.*] table, or pick a priced model.",
                    key=f"shadow.{key}",
                )

    def reserve(
        self,
        task: str,
        deployment: Deployment,
        messages: Sequence[BaseMessage],
        kwargs: Mapping[str, Any],
    ) -> Reservation | None:
        """Hold the call's worst case (kept until `settle` or `release`), then take its
        rate-limit slot; None when no budget applies.

        Raises:
            OverBudgetError: a budget has no room for it.
            RateLimitedError: its deployment's rate limit has no slot for it soon enough.
            BudgetStoreDownError: the store is down and ``on_budget_store_error`` refuses.
        """
        gate = self._gate
        limited = deployment.label in gate.rate_limits
        if not (gate.budgets or limited):
            return None
        tokens = count_messages(messages) + count_prompt_kwargs(kwargs)
        media = media_tokens(messages, deployment.priced_as, deployment.provider)
        cap = output_cap(deployment, dict(kwargs))
        held = self._hold(task, deployment, tokens, media, cap) if gate.budgets else None
        if limited:
            output = self._worst.output_tokens(deployment.label, cap)
            self._take_slot(deployment, tokens + media.total + output, held)
        return held

    def _hold(
        self,
        task: str,
        deployment: Deployment,
        tokens: int,
        media: MediaTokens,
        cap: int | None,
    ) -> Reservation:
        """The call's worst case reserved on the budgets, and kept while it runs."""
        worst = self._worst.usd(deployment, tokens, cap, media)
        try:
            held = self._gate.reserve(CallContext(task), deployment.label, worst)
        except BudgetExhaustedError as refusal:
            raise OverBudgetError(str(refusal)) from refusal
        except BudgetStoreError as error:
            raise BudgetStoreDownError(str(error)) from error
        self._gate.keep(held)  # renewed until settled: a long call keeps holding it
        return held

    def _take_slot(self, deployment: Deployment, tokens: int, held: Reservation | None) -> None:
        """The deployment's rate slot for ``tokens`` (waited for, briefly), else the
        reservation given back and the sample dropped."""
        try:
            grant = self._gate.acquire_rate(deployment.label, tokens, RATE_WAIT_SECONDS)
        except BudgetStoreError as error:
            self.release(held)
            raise BudgetStoreDownError(str(error)) from error
        if not grant.granted:
            self.release(held)
            raise RateLimitedError(
                f"{deployment.label}'s rate limit has no slot for a shadow call within "
                f"{RATE_WAIT_SECONDS:g} s (a {grant.wait_seconds:.1f} s wait)"
            )
        if grant.wait_seconds > 0:
            time.sleep(grant.wait_seconds)

    def settle(self, held: Reservation | None, attempt: AttemptRecord) -> None:
        """Replace the reservation by what the answered call cost."""
        if held is None:
            return
        self._gate.settle(held, attempt.get("cost_usd"))
        output = (attempt.get("usage") or {}).get("output_tokens")
        if output:
            self._worst.observe(held.deployment, int(output))

    def release(self, held: Reservation | None) -> None:
        """Give the reservation back: the call failed, or was not made."""
        if held is not None:
            self._gate.release(held)
