"""Checks of single values given in code, shared by the route table and the router's fields.

Each raises a `ConfigError` naming the key and what was expected, so a wrong type or an
out-of-range number passed to `RoutedChatModel(...)` reads like the same mistake in the
configuration file, instead of a ``TypeError`` from deep inside a call.
"""

from __future__ import annotations

import math
from typing import Any

from langchain_costrouter.errors import ConfigError


def number_in(
    value: Any,
    key: str | None,
    *,
    low: float,
    high: float | None = None,
    low_included: bool = True,
) -> float:
    """``value`` as a float when it is a real number in the range, else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"expected a number, got {value!r}", key=key)
    too_low = value < low if low_included else value <= low
    if too_low or (high is not None and value > high):
        raise ConfigError(
            f"expected a number {_range(low, high, low_included)}, got {value!r}", key=key
        )
    return float(value)


def whole_number(value: Any, key: str, *, low: int) -> int:
    """``value`` when it is an int (not a bool) of at least ``low``, else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"expected a whole number >= {low}, got {value!r}", key=key)
    return value


def label(value: Any, key: str) -> str:
    """``value`` when it is a non-empty string, else a ConfigError."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"expected a non-empty string, got {value!r}", key=key)
    return value


def _range(low: float, high: float | None, low_included: bool) -> str:
    if high is None:
        return f"{'>=' if low_included else '>'} {low:g}"
    return f"in [{low:g}, {high:g}]"
