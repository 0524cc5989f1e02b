"""What a budget and a rate limit are, validated strictly (a typo is an error, not a no-op)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from langchain_costrouter.budgets.windows import Period
from langchain_costrouter.pricing.model_price import to_decimal

TASK_SCOPE = "task"
MAX_LIMIT_USD = Decimal(4_000_000)
"""Spend may pass a limit by a call's excess over its reservation; twice this still fits
a signed 64-bit count of picodollars (9.2 million dollars)."""
UNSET_SCOPE_VALUE = "<none>"
"""The scope of calls whose run metadata lacks a budget's key: they share one bucket, so
no call escapes the budget by leaving the key out."""


class Budget(BaseModel):
    """A spending limit shared by every process that uses the same store.

    ``Budget(name="acme-daily", limit_usd=50, period="day", per="tenant")`` lets each
    tenant (``config={"metadata": {"tenant": "acme"}}``) spend $50 per UTC day.

    Attributes:
        name: Names the budget in errors, warnings and store keys.
        limit_usd: Dollars per window (exact: ``0.1`` is $0.10).
        period: Calendar window the limit applies to (``minute``, ``hour``, ``day``,
            ``month``), or None for a limit that never resets.
        per: A run-metadata key (one limit per value of it), ``"task"`` (one per task
            label), or None for one limit over every call.
        on_exhausted: ``"refuse"`` raises `BudgetExhaustedError`; ``"downgrade"`` lets
            the request path serve the call from the cheapest deployment that fits.
        soft_threshold: Fraction of the limit whose crossing is reported once per
            window (a warning, the gate's callback and the call's record); None for no
            report.
        timezone: IANA zone of the calendar windows (default UTC).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Lengths as max_length, not as {1,100} in the pattern: a counted repeat of Unicode
    # \w makes pydantic-core compile a huge automaton, tens of milliseconds at import.
    name: str = Field(pattern=r"^[\w.@:-]+$", max_length=100)
    limit_usd: Decimal
    period: Period | None = "day"
    per: str | None = Field(default="tenant", pattern=r"^[\w.-]+$", max_length=64)
    on_exhausted: Literal["refuse", "downgrade"] = "refuse"
    soft_threshold: float | None = Field(default=0.8, gt=0, le=1)
    timezone: str | None = None

    @field_validator("limit_usd", mode="before")
    @classmethod
    def _exact_dollars(cls, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
            raise ValueError(f"expected a number of dollars, got {value!r}")
        amount = to_decimal(value, "limit_usd")
        if not 0 < amount <= MAX_LIMIT_USD:
            raise ValueError(
                f"must be more than $0 and at most ${MAX_LIMIT_USD} (stores count integer "
                f"picodollars in 64 bits), got {value!r}"
            )
        return amount

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'"
                ) from None
        return value

    @model_validator(mode="after")
    def _zone_needs_period(self) -> Budget:
        if self.timezone is not None and self.period is None:
            raise ValueError("timezone only applies to a budget with a period")
        return self

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "UTC")

    def scope(self, context: CallContext) -> str:
        """``tenant=acme``, ``task=chat`` or ``all``: whose spend this call counts toward."""
        if self.per is None:
            return "all"
        value = context.task if self.per == TASK_SCOPE else context.metadata.get(self.per)
        return f"{self.per}={_scope_value(value, self.per)}"


def _scope_value(value: object, key: str) -> str:
    if value is None:
        return UNSET_SCOPE_VALUE
    if isinstance(value, str | int) and not isinstance(value, bool):
        return _quoted(str(value))
    raise TypeError(
        f"run metadata {key!r} names a budget's scope and must be a string or an integer, "
        f"got {type(value).__name__}"
    )


@lru_cache(maxsize=4096)
def _quoted(value: str) -> str:
    """Percent-encoded, so no value can fake another key's separators (cached: the
    same tenants come back call after call)."""
    return quote(value, safe="")


class RateLimit(BaseModel):
    """A deployment's requests and tokens per minute, shared by every process.

    Enforced like the providers' own limits: a bucket holding a minute's worth,
    refilled continuously. Tokens are the prompt plus the output cap of each call.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_limit(self) -> RateLimit:
        if self.rpm is None and self.tpm is None:
            raise ValueError("give rpm, tpm or both")
        return self


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the request path knows about a call that decides its budgets' scopes."""

    task: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
