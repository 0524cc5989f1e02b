"""Budget and RateLimit validation, and the scope a call's metadata gives it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from langchain_costrouter.budgets import Budget, CallContext, RateLimit
from langchain_costrouter.errors import ConfigError


def test_defaults_are_one_daily_utc_limit_over_every_call_that_refuses() -> None:
    # As the README says: no per is one global account, never one per tenant (a limit
    # meant for everyone would otherwise be multiplied by the number of tenants).
    budget = Budget(name="daily", limit_usd=50)
    assert (budget.period, budget.per, budget.on_exhausted) == ("day", None, "refuse")
    assert budget.scope(CallContext("chat", {"tenant": "acme"})) == "all"
    assert budget.soft_threshold == 0.8
    assert str(budget.zone()) == "UTC"


def test_limit_is_exact_dollars() -> None:
    assert Budget(name="b", limit_usd=0.1).limit_usd == Decimal("0.1")
    assert Budget(name="b", limit_usd="12.345").limit_usd == Decimal("12.345")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"limit_usd": 0}, "more than \\$0"),
        ({"limit_usd": 5_000_000}, "at most \\$4000000"),
        ({"limit_usd": -1}, "more than \\$0"),
        ({"limit_usd": True}, "number of dollars"),
        ({"limit_usd": "lots"}, "number of dollars"),
        ({"limit_usd": 1, "period": "week"}, "period"),
        ({"limit_usd": 1, "on_exhausted": "warn"}, "on_exhausted"),
        ({"limit_usd": 1, "soft_threshold": 1.5}, "soft_threshold"),
        ({"limit_usd": 1, "soft_threshold": 0}, "soft_threshold"),
        ({"limit_usd": 1, "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"limit_usd": 1, "period": None, "timezone": "Europe/Paris"}, "needs a period|only"),
        ({"limit_usd": 1, "per": "a key with spaces"}, "per"),
        ({"limit_usd": 1, "limit": 5}, "unknown key; did you mean `limit_usd`"),
    ],
)
def test_bad_fields_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Budget(name="b", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [-5, 0, "-0.01", float("nan"), float("inf"), 5_000_000, True])
def test_every_bad_limit_is_told_the_whole_accepted_range(limit: object) -> None:
    """-5 was told "non-negative", then 0 was refused as not "more than $0"."""
    with pytest.raises(ConfigError) as raised:
        Budget(name="b", limit_usd=limit)  # type: ignore[arg-type]
    assert raised.value.key == "limit_usd"
    assert raised.value.reason.startswith(
        "must be a finite number of dollars, more than $0 and at most $4000000 "
    )
    assert "non-negative" not in str(raised.value)


def test_a_mistake_in_code_is_a_config_error_naming_the_field_with_pydantics_details() -> None:
    """As `Tier`, `Route`, `ModelPrice` and the router report theirs: one error type."""
    with pytest.raises(ConfigError) as raised:
        Budget(name="b", limit_usd=1, period="week", soft_threshold=2)  # type: ignore[arg-type]
    error = raised.value
    assert error.key == "period"
    assert str(error) == (
        "key 'period': input should be 'minute', 'hour', 'day' or 'month' (got 'week') "
        "(and 1 more: soft_threshold)"
    )
    assert isinstance(error.__cause__, ValidationError)
    assert [problem["loc"] for problem in error.__cause__.errors()] == [
        ("period",),
        ("soft_threshold",),
    ]
    # ``model_validate`` stays pydantic's API: the config loader reads its errors' keys.
    with pytest.raises(ValidationError) as validated:
        Budget.model_validate({"name": "b", "limit_usd": 1, "period": "week"})
    assert validated.value.errors()[0]["loc"] == ("period",)
    with pytest.raises(ValidationError, match="valid integer"):
        RateLimit.model_validate({"rpm": True}, strict=True)


def test_a_pattern_error_says_what_to_use() -> None:
    with pytest.raises(ConfigError, match="use 1 to 100 letters, digits") as raised:
        Budget(name="a b", limit_usd=1)
    assert raised.value.key == "name"


def test_a_time_zone_without_a_period_is_an_error_of_timezone() -> None:
    with pytest.raises(ConfigError, match="set period too") as raised:
        Budget(name="b", limit_usd=1, period=None, timezone="Europe/Paris")
    assert raised.value.key == "timezone"


def test_names_that_would_break_store_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="name"):
        Budget(name="a|b", limit_usd=1)
    with pytest.raises(ConfigError, match="name"):
        Budget(name="", limit_usd=1)


def test_names_and_per_keys_have_a_length_limit() -> None:
    assert Budget(name="n" * 100, limit_usd=1, per="k" * 64).per == "k" * 64
    with pytest.raises(ConfigError, match="name"):
        Budget(name="n" * 101, limit_usd=1)
    with pytest.raises(ConfigError, match="per"):
        Budget(name="b", limit_usd=1, per="k" * 65)
    with pytest.raises(ConfigError, match="per"):
        Budget(name="b", limit_usd=1, per="")


def test_scope_per_metadata_key_task_or_everything() -> None:
    context = CallContext(task="summarise", metadata={"tenant": "acme", "team": 7})
    assert Budget(name="b", limit_usd=1, per="tenant").scope(context) == "tenant=acme"
    assert Budget(name="b", limit_usd=1, per="team").scope(context) == "team=7"
    assert Budget(name="b", limit_usd=1, per="task").scope(context) == "task=summarise"
    assert Budget(name="b", limit_usd=1, per=None).scope(context) == "all"


def test_calls_without_the_key_share_one_scope_and_odd_values_are_escaped() -> None:
    budget = Budget(name="b", limit_usd=1, per="tenant")
    assert budget.scope(CallContext("chat")) == "tenant=<none>"
    assert budget.scope(CallContext("chat", {"tenant": "a|b c"})) == "tenant=a%7Cb%20c"


def test_a_scope_value_that_is_not_a_string_or_integer_is_an_error() -> None:
    with pytest.raises(TypeError, match="tenant"):
        Budget(name="b", limit_usd=1, per="tenant").scope(
            CallContext("chat", {"tenant": {"id": 1}})
        )


def test_rate_limit_needs_a_positive_limit() -> None:
    assert RateLimit(rpm=10).tpm is None
    with pytest.raises(ConfigError, match="rpm, tpm or both"):
        RateLimit()
    with pytest.raises(ConfigError, match="greater than 0") as raised:
        RateLimit(rpm=0)
    assert raised.value.key == "rpm"
    assert "(got 0); use a whole number of requests per minute" in str(raised.value)
    with pytest.raises(ConfigError, match="did you mean `rpm`") as raised:
        RateLimit(rps=3)  # type: ignore[call-arg]
    assert raised.value.key == "rps"
