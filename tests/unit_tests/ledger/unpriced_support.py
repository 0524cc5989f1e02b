"""Ledger rows of routed calls, some with a price that is not known.

Built from records shaped as the router writes them (`router/_savings.py`): a call with
an unknown cost or baseline has every lever None.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from langchain_costrouter.ledger import LedgerRow, rows_from_costrouter
from langchain_costrouter.metadata import LEVERS, AttemptRecord, CostRouterMetadata
from tests.unit_tests.ledger.support import DAY_ONE

PRICED_COST = Decimal("0.0000175")
"""What the priced calls cost together (the failed call and the cache hit cost $0)."""
PRICED_BASELINE = Decimal("0.0003")
LEFT_OUT_KNOWN_COST = Decimal("0.00012")
"""The priced rows of the calls left out: the escalation's gpt-4o answer and the call
whose reference has no price."""


def mixed_rows() -> list[LedgerRow]:
    """Seven calls over two days; three of them have a cost or a saving that is unknown.

    - ``priced`` (mini): $0.0000075 against $0.000125.
    - ``hit`` (mini): a cache hit of it: $0, the same baseline.
    - ``failed`` (mini, day two): no answer, $0 spent, baseline $0.
    - ``eval`` (mini, eval): from before the lever split (no levers): $0.00001 against
      $0.00005.
    - ``local`` (local): served by a model with no price, baseline $0.0000325.
    - ``escalated`` (esc): the unpriced tier rejected, gpt-4o ($0.0001125) served.
    - ``no-reference`` (mini, day two): priced ($0.0000075), the reference has no price.
    """
    saved = {"routing": 0.0001175, "cascade": 0.0, "compression": 0.0, "batching": 0.0}
    calls: list[tuple[str, CostRouterMetadata]] = [
        ("priced", _call("mini", [_try("gpt-4o-mini", 0.0000075)], 0.000125, saved)),
        ("hit", {**_call("mini", [], 0.000125, {**saved, "cache": 0.0000075}), "cache_hit": True}),
        ("local", _call("local", [_try("my-local-llm", None)], 0.0000325, None)),
        ("escalated", _escalated()),
    ]
    day_two: list[tuple[str, CostRouterMetadata]] = [
        ("failed", _call("mini", [_failed()], 0.0, dict.fromkeys(LEVERS, 0.0))),
        ("no-reference", _call("mini", [_try("gpt-4o-mini", 0.0000075)], None, None)),
    ]
    rows = [row for run, meta in calls for row in _rows(meta, run, days=0)]
    rows += [row for run, meta in day_two for row in _rows(meta, run, days=1)]
    return [*rows, _before_the_split()]


def _call(
    task: str,
    attempts: list[AttemptRecord],
    baseline: float | None,
    savings: dict[str, float] | None,
) -> CostRouterMetadata:
    levers: dict[str, Any] = dict.fromkeys(LEVERS, None if savings is None else 0.0)
    levers.update(savings or {})
    record: CostRouterMetadata = {"task": task, "attempts": attempts}
    record["baseline_cost_usd"] = baseline
    record["savings_usd"] = levers
    if not attempts:
        record["served_by"] = "gpt-4o-mini"
    return record


def _try(model: str, cost: float | None, *, accepted: bool = True) -> AttemptRecord:
    return {
        "model": model,
        "cost_usd": cost,
        "usage": {"input_tokens": 10, "output_tokens": 5},
        "accepted": accepted,
        "reason": "accepted" if accepted else "check failed",
    }


def _failed() -> AttemptRecord:
    return {"model": "gpt-4o-mini", "cost_usd": 0.0, "accepted": False, "error": "HTTPError"}


def _escalated() -> CostRouterMetadata:
    attempts = [_try("my-local-llm", None, accepted=False), _try("gpt-4o", 0.0001125)]
    record = _call("esc", attempts, 0.0001125, None)
    record["escalated"] = True
    return record


def _rows(meta: CostRouterMetadata, run_id: str, *, days: int) -> list[LedgerRow]:
    return rows_from_costrouter(meta, run_id=run_id, when=DAY_ONE + timedelta(days=days))


def _before_the_split() -> LedgerRow:
    """An eval call as rows were written before migration 5: a baseline, no levers."""
    return LedgerRow(
        time=DAY_ONE,
        run_id="eval",
        task="mini",
        model="gpt-4o-mini",
        cost_usd=Decimal("0.00001"),
        baseline_cost_usd=Decimal("0.00005"),
        purpose="eval",
    )
