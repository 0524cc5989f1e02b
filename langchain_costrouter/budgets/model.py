"""What a budget and a rate limit are, validated strictly (a typo is an error, not a no-op).

Built in code, a mistake is a `ConfigError` naming the field and what it takes, as
`Tier`, `Route`, `ModelPrice` and `RoutedChatModel` report theirs: callers catch one
error type. ``model_validate`` (what `parse_budgets` uses for a config file, naming
the file's key) still raises pydantic's ``ValidationError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from langchain_costrouter._unknown_keys import unknown_key_message
from langchain_costrouter.budgets.windows import Period
from langchain_costrouter.errors import ConfigError

TASK_SCOPE = "task"
MAX_LIMIT_USD = Decimal(4_000_000)
"""Spend may pass a limit by a call's excess over its reservation; twice this still fits
a signed 64-bit count of picodollars (9.2 million dollars)."""
UNSET_SCOPE_VALUE = "<none>"
"""The scope of calls whose run metadata lacks a budget's key: they share one bucket, so
no call escapes the budget by leaving the key out."""
LIMIT_RULE = (
    f"must be a finite number of dollars, more than $0 and at most ${MAX_LIMIT_USD} "
    "(stores count integer picodollars in 64 bits), e.g. 50 or 0.25"
)
"""What a limit in dollars accepts, said whole whichever part of it a value breaks."""
DEFAULT_LEASE_SECONDS = 600.0
"""How long a reservation counts without being settled or renewed: a process that died
mid-call frees its reservation after this; a live one renews its calls' leases
(budgets/leases.py)."""
LEASE_RULE = (
    "must be a finite number of seconds above 0 (an unsettled reservation whose process "
    "stopped renewing it stops counting after it; one that never ran out would hold a "
    "dead process's reservation for good)"
)


class _Checked(BaseModel):
    """Frozen, unknown fields refused, and built in code a mistake is a `ConfigError`.

    The `ConfigError` names the first bad field (``key``) and what it takes, counts the
    other problems, and chains pydantic's ``ValidationError`` (``__cause__``) for the
    full details.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise _config_error(error, type(self)) from error

    # Marked as pydantic's own __init__ (as RootModel's is), so validation (nested
    # models, ``model_validate`` in strict mode) keeps bypassing it: only a call in code
    # turns the ValidationError into a ConfigError.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def _config_error(error: ValidationError, model: type[BaseModel]) -> ConfigError:
    """The first problem as a `ConfigError` keyed by the field, the others' keys counted."""
    problems = error.errors(include_url=False)
    first = problems[0]
    reason = _reason(first, model)
    if len(problems) > 1:
        others = ", ".join(_key(problem) or model.__name__ for problem in problems[1:])
        reason += f" (and {len(problems) - 1} more: {others})"
    return ConfigError(reason, key=_key(first) or None)


def _key(problem: ErrorDetails) -> str:
    return ".".join(str(part) for part in problem["loc"])


def _reason(problem: ErrorDetails, model: type[BaseModel]) -> str:
    """Pydantic's message in words a caller acts on: the value given and what to pass."""
    loc = problem["loc"]
    if problem["type"] == "extra_forbidden":
        return unknown_key_message(str(loc[-1]), model.model_fields)
    if problem["type"] == "missing":
        return "missing; this field is required"
    message = problem["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if not loc:  # a rule across fields: the input is every field, not worth repeating
        return message
    message += f" (got {problem['input']!r})"
    field = model.model_fields.get(str(loc[0]))
    return f"{message}; {field.description}" if field and field.description else message


class Budget(_Checked):
    """A spending limit shared by every process that uses the same store.

    ``Budget(name="acme-daily", limit_usd=50, period="day", per="tenant")`` lets each
    tenant (``config={"metadata": {"tenant": "acme"}}``) spend $50 per UTC day.

    Attributes:
        name: Names the budget in errors, warnings and store keys.
        limit_usd: Dollars per window (exact: ``0.1`` is $0.10).
        period: Calendar window the limit applies to (``minute``, ``hour``, ``day``,
            ``month``), or None for a limit that never resets.
        per: A run-metadata key (one limit per value of it), ``"task"`` (one per task
            label), or None (the default, and a config table without ``per``) for one
            limit over every call: a limit never multiplies by the number of tenants
            unless it names the key that tells them apart.
        on_exhausted: ``"refuse"`` raises `BudgetExhaustedError`; ``"downgrade"`` lets
            the request path serve the call from the cheapest deployment that fits.
        soft_threshold: Fraction of the limit whose crossing is reported once per
            window (a warning, the gate's callback and the call's record); None for no
            report.
        timezone: IANA zone of the calendar windows (default UTC).
    """

    # Lengths as max_length, not as {1,100} in the pattern: a counted repeat of Unicode
    # \w makes pydantic-core compile a huge automaton, tens of milliseconds at import.
    name: str = Field(
        pattern=r"^[\w.@:-]+$",
        max_length=100,
        description="use 1 to 100 letters, digits, '.', '@', ':' or '-'",
    )
    limit_usd: Decimal
    period: Period | None = "day"
    per: str | None = Field(
        default=None,
        pattern=r"^[\w.-]+$",
        max_length=64,
        description="use a run-metadata key of 1 to 64 letters, digits, '.' or '-', "
        "'task', or None for one limit over every call",
    )
    on_exhausted: Literal["refuse", "downgrade"] = "refuse"
    soft_threshold: float | None = Field(
        default=0.8, gt=0, le=1, description="use a fraction of the limit in (0, 1], or None"
    )
    timezone: str | None = None

    @field_validator("limit_usd", mode="before")
    @classmethod
    def _exact_dollars(cls, value: Any) -> Decimal:
        return _limit_dollars(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A real IANA zone, on a budget that has calendar windows for it to shift.

        Checked here rather than across the model, so the error names ``timezone``
        (``period`` is declared first, so it is in ``info.data`` when valid).
        """
        if value is None:
            return value
        if "period" in info.data and info.data["period"] is None:
            raise ValueError("timezone only applies to a budget with a period; set period too")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as 'Europe/Paris'") from None
        return value

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


def _limit_dollars(value: Any) -> Decimal:
    """Exact dollars (a float by its repr: ``0.1`` is $0.10) within `LIMIT_RULE`.

    One message for every way a value breaks the rule, so it never names a bound the
    value then fails on the other side of (-5 is not told "non-negative", then 0 "more
    than $0"). The value is left out: the error's reporters add it.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValueError(LIMIT_RULE)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(LIMIT_RULE) from None
    if not amount.is_finite() or not 0 < amount <= MAX_LIMIT_USD:
        raise ValueError(LIMIT_RULE)
    return amount


def checked_lease_seconds(value: Any, key: str) -> float:
    """``value`` as the seconds of a reservation's lease (`LEASE_RULE`), else a ConfigError
    naming ``key`` (the gate's argument, the router's field or the file's key)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{LEASE_RULE}; got {value!r}", key=key)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{LEASE_RULE}; got {value!r}", key=key)
    return float(value)


class RateLimit(_Checked):
    """A deployment's requests and tokens per minute, shared by every process.

    Enforced like the providers' own limits: a bucket holding a minute's worth,
    refilled continuously. Tokens are the prompt plus the output cap of each call.
    """

    rpm: int | None = Field(
        default=None, gt=0, description="use a whole number of requests per minute, or None"
    )
    tpm: int | None = Field(
        default=None, gt=0, description="use a whole number of tokens per minute, or None"
    )

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
