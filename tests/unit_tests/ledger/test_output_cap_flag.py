"""An answer longer than its cap is flagged on its ledger row, in every store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.ledger.rows import rows_from_costrouter
from langchain_costrouter.metadata import CostRouterMetadata

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
