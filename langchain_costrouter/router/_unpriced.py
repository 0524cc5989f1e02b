"""A side call (a compressor's, a judge's) whose model has no price is refused, never
charged $0: no budget can count an unknown price, and charging it nothing would let that
model spend without limit.

It is refused before it is asked when its model is known (`refuse_unpriced_model`),
else once it answered (`refuse_unpriced`), as `_budget.hold` refuses an unpriced
deployment before its call. A side call reserves nothing; its priced cost is charged
once it answered (the ``Charge`` step).
"""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.language_models import BaseChatModel

from langchain_costrouter._child_models import ROUTER_LLM_TYPE, model_id_of
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._budget import Budgets


def refuse_unpriced_model(role: str, model: object, budgets: Budgets) -> None:
    """Refuse a side call before it is made when its model is a plain chat model with no
    price, as `hold` refuses an unpriced deployment before its call: refused only after
    it, every call would pay for the side call and then fail. A side model whose price
    shows only in its answer (a router, a binding) is checked then (`refuse_unpriced`).

    Raises:
        ConfigError: the call has budgets and ``model`` has no price.
    """
    if not budgets.enabled or not isinstance(model, BaseChatModel):
        return
    if model._llm_type == ROUTER_LLM_TYPE:  # a router prices its own calls
        return
    name = model_id_of(model)
    if not budgets.worst_case.prices.knows(name):
        raise _unpriced_side_model(role, name, f"before the {role} is asked", key=name)


def refuse_unpriced(role: str, attempts: Iterable[AttemptRecord]) -> None:
    """Refuse a side call's attempt whose price is unknown, as `hold` refuses an unpriced
    deployment (`budgets.WorstCase.usd`): no budget can count an unknown price, and
    charging it $0 would let that model spend without limit. A side call is only known
    once it answered, so this runs after its attempts are on the request (the ledger
    records them) and its priced ones were charged.

    Raises:
        ConfigError: an attempt of ``role`` (``"compressor"``, ``"judge"``) has no price.
    """
    for attempt in attempts:
        if attempt.get("cost_usd") is None:
            model = attempt.get("model")
            raise _unpriced_side_model(
                role,
                model,
                f"after the {role} answered, and the ledger records that answer as unpriced",
                key=f"{attempt.get('provider')}/{model}",
            )


def _unpriced_side_model(role: str, model: object, when: str, *, key: str) -> ConfigError:
    """The refusal of a side call whose model has no price, refused ``when``."""
    return ConfigError(
        f"model {model!r} has no price, so no budget can count the cost of this call's "
        f"{role} (an unknown price is never $0); the call is refused {when}. Give the model "
        "a price with PriceTable(overrides={...: ModelPrice(...)}) or a price in its "
        f"[models.*] table, or give the {role} a priced model.",
        key=key,
    )
