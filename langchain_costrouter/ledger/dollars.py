"""Dollars as exact Decimals and as integer picodollars, the way databases store them.

The router's records carry floats; rows carry Decimals read by the float's shortest
repr (0.1 -> 0.1); SQL stores integer picodollars, so sums stay exact in any database.
The float fast paths give the same integers as the Decimal ones (tests compare them on
tens of thousands of values) without building a Decimal on every routed call.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

_PICO = Decimal("1e-12")
_PICOS_PER_USD = 10**12


def usd(value: float | Decimal | None) -> Decimal | None:
    """Dollars as an exact Decimal; a float is read by its shortest repr (0.1 -> 0.1)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value)))


def to_stored_money(value: float | Decimal | None) -> int | None:
    """Dollars as the integer picodollars a database stores, from a float or a Decimal.

    Equal to ``to_picousd(usd(value))`` without its Decimal round trip for a float (the
    SQL ledger's writer runs this seven times per routed call). Exact: ``round(value *
    1e12)`` is taken only when dividing it back gives ``value``, which, below $1000
    (where the product's rounding error is far below half a picodollar), means the
    shortest repr of ``value`` rounds to it as well. Anything else goes the Decimal way.
    """
    if value is None:
        return None
    if type(value) is float and -1e3 < value < 1e3:
        picos = round(value * 1e12)
        if picos / _PICOS_PER_USD == value:
            return picos
    return to_picousd(usd(value))


def picousd_float(picos: int | None) -> float | None:
    """Integer picodollars as float dollars: the same float as ``float(from_picousd(p))``.

    Python divides integers correctly rounded, as float() rounds the exact Decimal.
    """
    return None if picos is None else picos / _PICOS_PER_USD


def to_picousd(value: Decimal | None) -> int | None:
    """Dollars as integer picodollars, how databases store them: sums stay exact."""
    if value is None:
        return None
    return int(value.scaleb(12).to_integral_value(ROUND_HALF_EVEN))


def from_picousd(value: int | Decimal | None) -> Decimal | None:
    """Integer picodollars (as stored) back to Decimal dollars."""
    return None if value is None else Decimal(int(value)) * _PICO


def rounded_percent(part: Decimal | int, whole: Decimal | int, places: int) -> Decimal:
    """``100 * part / whole`` rounded once, from the exact figure, to ``places`` decimals,
    half away from zero: what SQL's ``round`` gives on the ledger's sums (SQLite and
    Postgres alike), so a reader's query shows the percentage a report shows.

    Through a float it rounded twice: 23 of 80 calls is 28.75%, whose float is
    28.749999999999996 and printed 28.7%; a saving of $0.247 on $2 (12.35%) printed 12.3%.
    """
    exact = Fraction(part) * 100 * 10**places / Fraction(whole)
    scaled = math.floor(abs(exact) + Fraction(1, 2))  # 0 has no sign: never -0.0
    return Decimal(scaled if exact >= 0 else -scaled).scaleb(-places)
