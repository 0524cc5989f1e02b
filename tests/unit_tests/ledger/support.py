"""Rows for ledger tests, with figures easy to check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from langchain_costrouter.ledger import LedgerRow

DAY_ONE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample_rows() -> list[LedgerRow]:
    """Three calls over two days.

    - r1 (classify, day one): escalated; tier 0 $0.001 rejected, tier 1 $0.004 accepted;
      baselines $0.01 + $0.02.
    - r2 (classify, day one): a cache hit, $0 spent, $0.03 avoided.
    - r3 (chat, day two): $0.002 spent, baseline $0.005; plus a row of an unknown price.
    """
    day_two = DAY_ONE + timedelta(days=1)
    return [
        LedgerRow(
            time=DAY_ONE,
            run_id="r1",
            attempt=0,
            task="classify",
            model="small",
            tier=0,
            input_tokens=100,
            output_tokens=10,
            cost_usd=Decimal("0.001"),
            price_source="price_map",
            baseline_cost_usd=Decimal("0.01"),
            accepted=False,
            escalated=True,
            reason="check failed",
        ),
        LedgerRow(
            time=DAY_ONE,
            run_id="r1",
            attempt=1,
            task="classify",
            model="big",
            tier=1,
            input_tokens=100,
            output_tokens=20,
            reasoning_tokens=5,
            cost_usd=Decimal("0.004"),
            price_source="price_map",
            baseline_cost_usd=Decimal("0.02"),
            escalated=True,
        ),
        LedgerRow(
            time=DAY_ONE,
            run_id="r2",
            task="classify",
            model="small",
            cache_hit=True,
            input_tokens=100,
            output_tokens=10,
            cost_usd=Decimal(0),
            price_source="price_map",
            baseline_cost_usd=Decimal("0.03"),
        ),
        LedgerRow(
            time=day_two,
            run_id="r3",
            task="chat",
            model="small",
            input_tokens=1000,
            cache_read_tokens=500,
            output_tokens=100,
            cost_usd=Decimal("0.002"),
            price_source="override",
            baseline_cost_usd=Decimal("0.005"),
        ),
        LedgerRow(time=day_two, run_id="r3", attempt=1, task="chat", model="mystery", role="judge"),
    ]
