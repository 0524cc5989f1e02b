"""A routed call's column values, taken straight from its record, equal its rows' values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from langchain_costrouter.ledger import queries
from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.metadata import CostRouterMetadata
from tests.unit_tests.ledger.test_rows import WHEN, escalated_record


def records() -> dict[str, CostRouterMetadata]:
    priced = escalated_record()
    priced["baseline_cost_usd"] = 0.003
    priced["compression_saved_usd"] = 0.00004
    priced["savings_usd"] = {"routing": 0.0025, "cascade": -0.001, "cache": 0.0}
    decimals = escalated_record()
    decimals["baseline_cost_usd"] = Decimal("0.0030000000004")  # rounds to a picodollar
    decimals["attempts"][0]["cost_usd"] = Decimal("0.0001335")  # type: ignore[typeddict-item]
    hit: CostRouterMetadata = {
        "task": "chat",
        "cache_hit": True,
        "served_by": "gpt-5",
        "baseline_cost_usd": 0.0125,
        "savings_usd": {"cache": 0.0125},
        "attempts": [],
    }
    bare: CostRouterMetadata = {"attempts": [{"model": "m", "status_code": 503}]}
    return {
        "escalated": escalated_record(),
        "priced": priced,
        "decimals": decimals,
        "hit": hit,
        "bare": bare,
        "nothing": {"attempts": []},
    }


@pytest.mark.parametrize("name", sorted(records()))
@pytest.mark.parametrize(
    "when",
    [WHEN, datetime(2026, 1, 1, 8, 0), WHEN.astimezone(timezone(timedelta(hours=-5)))],
    ids=["utc", "naive", "new-york"],
)
def test_call_values_equal_the_values_of_its_rows(name: str, when: datetime) -> None:
    call = PendingCall(records()[name], "run-1", when, "gpt-5")
    expected = [queries.row_values(row) for row in call.rows()]
    assert queries.call_values(call) == expected
    assert queries.item_values(call) == expected
    assert all(len(values) == len(queries.ROW_COLUMNS) for values in expected)


def test_a_rows_values_are_its_own() -> None:
    (row,) = PendingCall(records()["bare"], "run-1", WHEN, None).rows()
    assert queries.item_values(row) == [queries.row_values(row)]
