"""Costs summed as the ledger sums them, so calibrate's and replay's dollars are its own.

A ledger stores each row's cost as integer picodollars (`ledger.dollars.to_stored_money`;
the memory ledger rounds the same way when it sums) and adds the integers: those sums
are what ``costrouter report`` prints. A cost summed any other way differs from them in
its last digits: numpy's float sum (GSM8K's Mixtral answers on seed 0's test half make
0.06305039999999999 for the ledger's 0.0630504), or the Decimals of the floats' reprs,
which keep up to 21 decimals of OVERRULING's recorded costs (a third of $0.0001 is
3.3333333333333335e-05; three of them are $0.000099999999 in the ledger). Every dollar
figure calibrate and replay print is summed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.dollars import from_picousd, to_stored_money

_PICOS = 1e12
_FAST_BELOW = 1e3
"""`to_stored_money`'s float path holds below $1,000 (its docstring says why)."""


def ledger_sum(costs: Iterable[float | Decimal] | npt.NDArray[np.float64]) -> Decimal:
    """The sum of ``costs`` (one a ledger row), each in picodollars as stored, exact.

    An array is converted in one pass, with the same integers as `to_stored_money`
    (tests/unit_tests/calibration/test_money.py compares them): a column of a million
    rows is summed in milliseconds, not a second of Python.
    """
    if isinstance(costs, np.ndarray):
        total = _array_picos(costs)
    else:
        total = sum(_picos(cost) for cost in costs)
    return from_picousd(total) or Decimal(0)


def ledger_float(costs: Iterable[float | Decimal] | npt.NDArray[np.float64]) -> float:
    """`ledger_sum` as the float JSON carries (as ``costrouter report --json`` does): its
    shortest repr is the exact sum whenever that has at most 15 significant digits, so
    below $1,000 at any picodollar."""
    return float(ledger_sum(costs))


def _array_picos(costs: npt.NDArray[np.float64]) -> int:
    """`to_stored_money`'s float path on a whole array, the rest one by one.

    ``rint`` rounds half to even as ``round`` does, and the division of two exact floats
    is correctly rounded as Python's ``int / int`` is, so the test is the same one.
    """
    values = np.asarray(costs, dtype=np.float64).ravel()
    picos = np.rint(values * _PICOS)
    fast = (np.abs(values) < _FAST_BELOW) & (picos / _PICOS == values)
    slow = sum(_picos(value) for value in values[~fast].tolist())
    return int(sum(picos[fast].astype(np.int64).tolist())) + slow


def _picos(cost: float | Decimal) -> int:
    picos = to_stored_money(cost)
    if picos is None:  # a caller passed a missing cost: never counted as $0
        raise ConfigError("a cost to sum is missing; record cost_usd for every outcome")
    return picos
