"""Dollars: exact Decimal and picodollar conversions, and float fast paths equal to them."""

from __future__ import annotations

import random
from decimal import Decimal

from langchain_costrouter.ledger.dollars import (
    from_picousd,
    picousd_float,
    to_picousd,
    to_stored_money,
    usd,
)


def test_money_conversions_are_exact() -> None:
    assert usd(0.1) == Decimal("0.1")
    assert to_picousd(Decimal("0.0000000125")) == 12_500
    assert from_picousd(to_picousd(Decimal("1234.000000000001"))) == Decimal("1234.000000000001")
    assert to_picousd(None) is None


def test_float_fast_paths_equal_the_decimal_ones() -> None:
    rng = random.Random(7)
    values = [0.0, 1e-12, 2.5e-12, 3.5e-12, 5e-13, 4.05e-06, 999.999999999999, 1e3, 7e5, -3.2e-5]
    for _ in range(20_000):
        value = rng.choice((1, -1)) * 10 ** rng.uniform(-15, 4)
        values += [value, round(value, rng.randint(4, 16))]
    for value in values:
        assert to_stored_money(value) == to_picousd(usd(value)), value
    assert (to_stored_money(2.5e-12), to_stored_money(3.5e-12)) == (2, 4)  # half to even
    assert to_stored_money(None) is None
    for picos in [0, 1, -1, 12_500, 10**15 + 1, -(10**17) - 3, 2**60 + 7]:
        assert picousd_float(picos) == float(from_picousd(picos))  # type: ignore[arg-type]
    assert picousd_float(None) is None


def test_stored_money_takes_floats_and_decimals_alike() -> None:
    assert to_stored_money(0.0000125) == to_picousd(Decimal("0.0000125")) == 12_500_000
    assert to_stored_money(Decimal("0.0000000000015")) == 2  # half to even
    assert to_stored_money(None) is None
