"""Dollars as the stores keep them: integer picodollars, exact (as the ledger keeps them)."""

from __future__ import annotations

from decimal import Decimal

from langchain_costrouter.ledger.dollars import from_picousd, to_picousd, usd


def to_pico(amount: Decimal | float, what: str) -> int:
    """Dollars as integer picodollars; a negative or non-finite amount is a bug upstream."""
    dollars = usd(amount)
    if dollars is None or not dollars.is_finite() or dollars < 0:
        raise ValueError(f"{what} must be a finite, non-negative number of dollars, got {amount!r}")
    picos = to_picousd(dollars)
    assert picos is not None
    return picos


def from_pico(picos: int) -> Decimal:
    """Integer picodollars as Decimal dollars without trailing zeros (``$0.25``, not
    ``$0.250000000000``)."""
    dollars = from_picousd(picos)
    assert dollars is not None
    return dollars.normalize()
