"""Facts of a call on its ledger rows, in every store: output cap exceeded, purpose."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.ledger.call_rows import rows_from_costrouter
from langchain_costrouter.metadata import LEVERS, CostRouterMetadata

RECORD: CostRouterMetadata = {
    "task": "chat",
    "attempts": [
        {"model": "m", "usage": {"output_tokens": 400}, "accepted": True, "reason": "accepted",
         "output_cap_exceeded": True},
    ],
}  # fmt: skip


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_the_flag_is_stored_and_read_back(tmp_path: Path, store: str) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}" if store == "sqlite" else store
    (row,) = rows_from_costrouter(RECORD, run_id="r1", when=datetime.now(UTC))
    assert row.output_cap_exceeded is True
    with open_ledger(url) as ledger:
        ledger.add([row])
        ledger.flush()
        assert [r.output_cap_exceeded for r in ledger.rows()] == [True]


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_eval_and_shadow_spend_is_kept_apart_by_purpose(tmp_path: Path, store: str) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}" if store == "sqlite" else store
    now = datetime.now(UTC)
    priced: CostRouterMetadata = {  # a call served by the reference model: nothing saved
        "task": "chat",
        "attempts": [{"model": "m", "cost_usd": 0.5, "accepted": True}],
        "baseline_cost_usd": 0.5,
        "savings_usd": dict.fromkeys(LEVERS, 0.0),
    }
    calls = [
        ({**priced}, "p1"),
        ({**priced, "purpose": "eval"}, "e1"),
        ({**priced, "purpose": "eval"}, "e2"),
        ({**priced, "purpose": "shadow"}, "s1"),
    ]
    rows = [row for meta, run in calls for row in rows_from_costrouter(meta, run_id=run, when=now)]
    assert [r.purpose for r in rows] == ["production", "eval", "eval", "shadow"]
    with open_ledger(url) as ledger:
        ledger.add(rows)
        ledger.flush()
        by_purpose = {g.key: (g.calls, g.cost_usd) for g in ledger.summary(by="purpose")}
    half = Decimal("0.5")
    assert by_purpose == {"production": (1, half), "eval": (2, 2 * half), "shadow": (1, half)}
