"""What compression saved, what the compressor cost, and the net, in every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.ledger import Ledger, open_ledger, rows_from_costrouter
from langchain_costrouter.ledger.summary import GroupTotals, SummaryRow
from langchain_costrouter.metadata import CostRouterMetadata
from tests.unit_tests.ledger.compression_support import compression_rows


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as opened:
        opened.add(compression_rows())
        yield opened


def test_the_saving_in_dollars_goes_on_the_first_row_only() -> None:
    record: CostRouterMetadata = {
        "task": "chat",
        "compression_tokens_saved": 800,
        "compression_saved_usd": 0.002,
        "attempts": [
            {"model": "mini", "role": "compressor", "tier": -1, "cost_usd": 0.0001},
            {"model": "big", "cost_usd": 0.004, "accepted": True},
        ],
    }
    when = datetime(2026, 5, 4, tzinfo=UTC)
    first, second = rows_from_costrouter(record, run_id="r", when=when)
    assert (first.compression_saved_usd, second.compression_saved_usd) == (Decimal("0.002"), None)
    assert (first.role, first.compression_tokens_saved) == ("compressor", 800)


def test_rows_keep_the_saving_exactly(ledger: Ledger) -> None:
    assert ledger.rows() == compression_rows()


def test_net_saving_per_task(ledger: Ledger) -> None:
    by_task = {row.key: row for row in ledger.summary(by="task")}
    chat, classify, extract = by_task["chat"], by_task["classify"], by_task["extract"]
    assert chat.compression_tokens_saved == 2000
    assert chat.compression_saved_usd == Decimal("0.005")
    assert chat.compression_cost_usd == Decimal("0.0001")
    assert chat.compression_net_usd == Decimal("0.0049")
    assert (classify.compression_tokens_saved, classify.compression_net_usd) == (0, None)
    assert (classify.compression_saved_usd, classify.compression_cost_usd) == (None, None)
    assert extract.compression_saved_usd is None
    assert extract.compression_net_usd == Decimal("-0.0002")  # a compressor that never paid


def test_net_saving_in_the_totals(ledger: Ledger) -> None:
    (totals,) = ledger.summary(by="all")
    assert totals.compression_tokens_saved == 2000
    assert totals.compression_cost_usd == Decimal("0.0003")
    assert totals.compression_net_usd == Decimal("0.0047")
    assert totals.to_dict()["compression_net_usd"] == pytest.approx(0.0047)


def test_tokens_saved_at_an_unknown_price_make_the_net_unknown() -> None:
    totals = GroupTotals("chat", compression_tokens_saved=500, compression_cost_picousd=10**8)
    row = SummaryRow.from_totals(totals)
    assert row.compression_cost_usd == Decimal("0.0001")
    assert row.compression_net_usd is None  # never a $0 saving
