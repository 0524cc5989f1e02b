"""Shadow evaluation's own calls under the router's budgets: reserved before, settled after.

The reference model's call and each judge call of a sampled answer reserve their worst
case before they are made, as a cascade attempt does (`_budget.hold`: the prompt's
tokens, the call's output cap or the deployment's learned bound, `budgets.WorstCase`),
settle to their cost once answered, and give the reservation back when they fail. Spent
off the request path, nothing else would bound them: a global limit of $X let the
evaluation spend past $X, at whatever rate the sampling asked for.

Which budgets: the ones over every call (``per=None``) and the per-task ones, in the
sampled call's task. They limit what the application spends, in all or on a task, and
the evaluation is the application's spend on that task. A budget scoped by run metadata
(``per="tenant"``) limits what a caller's own calls spend: the caller never asked for
the evaluation, so counting it there would refuse (and bill) the caller's next calls
for the application's sampling (`budgets.BudgetGate.without_caller_budgets`).

A refusal raises `OverBudgetError`, which drops the sample: `_shadow_eval` counts it and
stores nothing, and it never reaches the user, whose call ended before the sample was
evaluated. A budget store that is down, under ``on_budget_store_error="refuse"``, raises
`BudgetStoreDownError` and drops the sample the same way, counted apart: no budget is
short then, the store is (under ``"allow"`` the gate lets the call through, warned).
Rate limits are not taken for these calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_costrouter.budgets import CallContext, Reservation
from langchain_costrouter.errors import BudgetExhaustedError, BudgetStoreError, ConfigError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._attempts import output_cap
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.routes import Deployment
from langchain_costrouter.tokens import count_messages, count_prompt_kwargs


class OverBudgetError(Exception):
    """A budget refused a shadow call's reservation: the sample is dropped, not failed."""


class BudgetStoreDownError(Exception):
    """The budget store could not take a shadow call's reservation (it is down and the
    router refuses calls it cannot check): the sample is dropped, not failed."""


class ShadowBudgets:
    """Reserve, settle and release the shadow's calls on the budgets that apply to them.

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
        if not self._gate.enabled:
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
        """Hold the call's worst case; None when no budget applies.

        Raises:
            OverBudgetError: a budget has no room for it.
            BudgetStoreDownError: the store is down and ``on_budget_store_error`` refuses.
        """
        if not self._gate.enabled:
            return None
        tokens = count_messages(messages) + count_prompt_kwargs(kwargs)
        worst = self._worst.usd(deployment, tokens, output_cap(deployment, dict(kwargs)))
        try:
            return self._gate.reserve(CallContext(task), deployment.label, worst)
        except BudgetExhaustedError as refusal:
            raise OverBudgetError(str(refusal)) from refusal
        except BudgetStoreError as error:
            raise BudgetStoreDownError(str(error)) from error

    def settle(self, held: Reservation | None, attempt: AttemptRecord) -> None:
        """Replace the reservation by what the answered call cost."""
        if held is None:
            return
        self._gate.settle(held, attempt.get("cost_usd"))
        output = (attempt.get("usage") or {}).get("output_tokens")
        if output:
            self._worst.observe(held.deployment, int(output))

    def release(self, held: Reservation | None) -> None:
        """Give the reservation back: the call failed."""
        if held is not None:
            self._gate.release(held)
