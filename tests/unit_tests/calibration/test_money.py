"""Costs summed as the ledger sums them: the array path, the loop and the ledger agree."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.calibration.money import ledger_float, ledger_sum
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger import LedgerRow, open_ledger

AWKWARD = [
    1e-4 / 3,  # 21 decimals: a picodollar and a third
    0.7,
    0.1,
    2.5e-12,  # half a picodollar and more: rounds half to even
    1.5e-12,
    0.0630504,
    1234.567890123456,  # above $1,000: the float path is not taken
    0.0,
]


def _stored_sum(costs: list[float], url: str) -> Decimal | None:
    """What a ledger holding one row per cost (the router's float, as its rows keep it)
    sums them to."""
    ledger = open_ledger(url)
    try:
        now = datetime.now(UTC)
        ledger.add(
            LedgerRow(
                time=now,
                run_id=f"r{i}",
                attempt=0,
                model="m",
                cost_usd=Decimal(repr(cost)),
                baseline_cost_usd=Decimal(repr(cost)),  # priced: summary sums the call
                accepted=True,
            )
            for i, cost in enumerate(costs)
        )
        ledger.flush()
        (total,) = ledger.summary(by="all")
        return total.cost_usd
    finally:
        ledger.close()


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_the_sums_are_the_ledger_s(store: str, tmp_path: Path) -> None:
    costs = [c * k for c in AWKWARD for k in (1, 3, 7)]
    url = f"sqlite:///{tmp_path}/ledger.sqlite" if store == "sqlite" else "memory://"
    expected = _stored_sum(costs, url)
    assert expected is not None
    assert ledger_sum(costs) == expected
    assert ledger_sum(np.array(costs)) == expected
    assert ledger_float(np.array(costs)) == float(expected)


def test_the_array_path_gives_the_loop_s_integers_on_many_values() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.random(20_000) * 10.0 ** rng.integers(-9, 3, 20_000), np.array(AWKWARD)]
    )
    for value in values.tolist():
        assert ledger_sum(np.array([value])) == ledger_sum([value]), value
    assert ledger_sum(values) == ledger_sum(values.tolist())


def test_a_missing_cost_is_an_error_never_zero() -> None:
    with pytest.raises(ConfigError, match="record cost_usd"):
        ledger_sum([0.1, None])  # type: ignore[list-item]
