"""Budgets and rate limits from config tables: strict, with errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.budgets import (
    BudgetGate,
    CallContext,
    NullBudgetGate,
    RateLimit,
    budgets_from_config,
)
from langchain_costrouter.budgets.gate import DEFAULT_LEASE_SECONDS
from langchain_costrouter.budgets.memory_store import MemoryStore
from langchain_costrouter.budgets.sql_store import SQLStore
from langchain_costrouter.errors import BudgetExhaustedError, ConfigError

MODELS = {
    "small": {"provider": "openai", "model": "gpt-4o-mini", "rpm": 500, "tpm": 200000},
    "big": {"provider": "openai", "model": "gpt-4o"},
}


def test_tables_build_a_gate_with_budgets_store_and_rate_limits(tmp_path: Path) -> None:
    tables = [
        {"name": "tenant-daily", "limit_usd": 50, "per": "tenant"},
        {"name": "summaries", "limit_usd": 500, "period": "month", "per": "task"},
    ]
    gate = budgets_from_config(tables, f"sqlite:///{tmp_path / 'b.sqlite'}", models=MODELS)
    assert isinstance(gate, BudgetGate) and isinstance(gate.store, SQLStore)
    assert [b.name for b in gate.budgets] == ["tenant-daily", "summaries"]
    assert gate.budgets[1].period == "month"
    assert gate.rate_limits == {"openai/small": RateLimit(rpm=500, tpm=200000)}


def test_the_default_store_is_in_process_and_nothing_configured_is_the_null_gate() -> None:
    assert isinstance(budgets_from_config([{"name": "b", "limit_usd": 1}]).store, MemoryStore)
    assert isinstance(
        budgets_from_config(None, None, models={"big": MODELS["big"]}), NullBudgetGate
    )


def test_a_budget_table_without_per_is_one_limit_over_every_tenant() -> None:
    # The README and the example config: "leave it out for one global budget". A table
    # has no way to write None, so an omitted per is the only way to say it.
    gate = budgets_from_config([{"name": "all-spend", "limit_usd": 1}])
    assert isinstance(gate, BudgetGate)
    gate.reserve(CallContext("chat", {"tenant": "acme"}), "openai/small", Decimal("0.6"))
    with pytest.raises(BudgetExhaustedError) as refused:
        gate.reserve(CallContext("chat", {"tenant": "globex"}), "openai/small", Decimal("0.6"))
    assert refused.value.scope == "all"


@pytest.mark.parametrize(
    ("tables", "key", "message"),
    [
        ({"name": "b"}, "budgets", "array of tables"),
        ([{"name": "b"}], "budgets[0].limit_usd", "this key is required"),
        ([{"name": "b", "limit_usd": 1, "perod": "day"}], "budgets[0].perod", "mean `period`"),
        ([{"name": "b", "limit_usd": "50"}], "budgets[0].limit_usd", "number of dollars"),
        ([{"name": "b", "limit_usd": 1, "per": 3}], "budgets[0].per", "valid string"),
        ([{"name": "b", "limit_usd": 1, "period": "week"}], "budgets[0].period", "'week'"),
        (
            [{"name": "b", "limit_usd": -5}],
            "budgets[0].limit_usd",
            "finite number of dollars, more than \\$0",
        ),
        (
            [{"name": "b", "limit_usd": 0}],
            "budgets[0].limit_usd",
            "finite number of dollars, more than \\$0",
        ),
        (
            [{"name": "b", "limit_usd": 1, "period": None, "timezone": "Europe/Paris"}],
            "budgets[0].timezone",
            "only applies to a budget with a period",
        ),
        (
            [{"name": "b", "limit_usd": 1}, {"name": "b", "limit_usd": 2}],
            "budgets[1].name",
            "exists already",
        ),
        (
            [{"name": "b", "limit_usd": 1, "timezone": "Nowhere/City"}],
            "budgets[0].timezone",
            "zone",
        ),
        (["b"], "budgets[0]", "expected a table"),
    ],
)
def test_bad_budget_tables_name_the_key(tables: object, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        budgets_from_config(tables, path="app.toml")
    assert error.value.key == key
    assert error.value.path == "app.toml"


@pytest.mark.parametrize(("value", "message"), [(0, "greater than 0"), (1.5, "valid integer")])
def test_bad_rate_limits_name_the_model(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        budgets_from_config(None, models={"small": {"provider": "openai", "rpm": value}})
    assert error.value.key == "models.small.rpm"


@pytest.mark.parametrize("url", ["mysql://db/app", 42, "sqlite://"])
def test_bad_store_urls_name_router_budget_store(url: object) -> None:
    with pytest.raises(ConfigError) as error:
        budgets_from_config([{"name": "b", "limit_usd": 1}], url)
    assert error.value.key == "router.budget_store"


def test_the_lease_is_read_from_router_budget_lease_seconds() -> None:
    tables = [{"name": "b", "limit_usd": 1}]
    gate = budgets_from_config(tables, lease_seconds=1800)
    assert isinstance(gate, BudgetGate) and gate.lease_seconds == 1800
    assert budgets_from_config(tables).lease_seconds == DEFAULT_LEASE_SECONDS  # type: ignore[union-attr]
    for wrong in (0, -1, float("inf"), float("nan"), "600", True):
        with pytest.raises(ConfigError) as refused:
            budgets_from_config(tables, lease_seconds=wrong, path="c.toml")
        assert (refused.value.key, refused.value.path) == ("router.budget_lease_seconds", "c.toml")
