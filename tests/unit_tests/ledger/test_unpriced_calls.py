"""A call with an unknown price is left out of cost, baseline and savings, in every store.

So every group reconciles: baseline - cost = the sum of the levers, never with an unknown
price read as $0 (tests/integration_tests/ledger/test_postgres.py checks Postgres).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.ledger import GROUP_BY, InMemoryLedger, Ledger, SummaryRow, open_ledger
from langchain_costrouter.metadata import LEVERS
from tests.unit_tests.ledger.unpriced_support import (
    LEFT_OUT_KNOWN_COST,
    PRICED_BASELINE,
    PRICED_COST,
    mixed_rows,
)


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as opened:
        opened.add(mixed_rows())
        yield opened


def assert_reconciles(row: SummaryRow) -> None:
    """baseline - cost = savings = the sum of the levers, to the picodollar."""
    assert row.savings_usd is not None and row.baseline_cost_usd is not None, row.key
    assert row.baseline_cost_usd - (row.cost_usd or 0) == row.savings_usd, row.key
    levers = [getattr(row, f"saved_{lever}_usd") for lever in LEVERS]
    assert sum(levers) == row.savings_usd, row.key
    if row.baseline_cost_usd:
        expected = 100 * float(row.savings_usd) / float(row.baseline_cost_usd)
        assert row.savings_pct == pytest.approx(expected), row.key


def test_unpriced_calls_are_left_out_of_the_totals(ledger: Ledger) -> None:
    (total,) = ledger.summary(by="all")
    assert (total.cost_usd, total.baseline_cost_usd) == (PRICED_COST, PRICED_BASELINE)
    assert_reconciles(total)
    assert (total.calls, total.unpriced_calls, total.unpriced) == (7, 3, 2)
    assert total.unpriced_calls_known_cost_usd == LEFT_OUT_KNOWN_COST


def test_every_group_with_a_priced_call_reconciles(ledger: Ledger) -> None:
    for by in ("task", "day", "purpose", "all"):  # by model a call spans groups
        for row in ledger.summary(by=by):
            if row.calls > row.unpriced_calls:
                assert_reconciles(row)


def test_a_group_without_a_priced_call_has_an_unknown_saving(ledger: Ledger) -> None:
    by_task = {row.key: row for row in ledger.summary(by="task")}
    # The escalation's gpt-4o answer is priced, but the tier it escalated from is not.
    for task in ("local", "esc"):
        row = by_task[task]
        assert (row.cost_usd, row.baseline_cost_usd) == (None, None), task
        assert (row.savings_usd, row.savings_pct, row.saved_routing_usd) == (None, None, None)
        assert row.unpriced_calls == 1
    assert by_task["esc"].unpriced_calls_known_cost_usd == Decimal("0.0001125")


def test_by_model_the_groups_add_up_to_the_total(ledger: Ledger) -> None:
    (total,) = ledger.summary(by="all")
    models = ledger.summary(by="model")
    assert sum(row.attempts for row in models) == total.attempts == 8
    assert sum(row.cost_usd or 0 for row in models) == total.cost_usd
    assert sum(row.baseline_cost_usd or 0 for row in models) == total.baseline_cost_usd
    assert sum(row.savings_usd or 0 for row in models) == total.savings_usd
    # The call's rows are left out in every model's group, gpt-4o's priced answer too.
    gpt_4o = next(row for row in models if row.key == "gpt-4o")
    assert (gpt_4o.cost_usd, gpt_4o.unpriced_calls) == (None, 1)
    assert gpt_4o.unpriced_calls_known_cost_usd == Decimal("0.0001125")


def test_the_sql_ledger_agrees_with_the_memory_one(tmp_path: Path) -> None:
    memory = InMemoryLedger()
    memory.add(mixed_rows())
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as sqlite:
        sqlite.add(mixed_rows())
        for by in GROUP_BY:
            assert sqlite.summary(by=by) == memory.summary(by=by), by
        since = "2026-03-02"  # the filter applies to the choice of calls left out too
        (day_two,) = sqlite.summary(by="all", since=since)
        assert (day_two,) == memory.summary(by="all", since=since)
    # The failed call, $0 against $0; the call whose reference has no price is left out.
    assert (day_two.calls, day_two.unpriced_calls) == (2, 1)
    assert (day_two.cost_usd, day_two.baseline_cost_usd, day_two.savings_usd) == (0, 0, 0)
