"""Budget store URLs: a misspelt or malformed option is a ConfigError when the store is
opened, never a store that looks down (which ``on_store_error="allow"`` would turn into
calls let through unbudgeted) or a TypeError at the first reservation."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter.budgets import BudgetGate, budgets_from_config
from langchain_costrouter.budgets.urls import open_store
from langchain_costrouter.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("redis://127.0.0.1:6399/0?prefx=app1:", "prefx"),
        ("redis://127.0.0.1:6399/0?socket_timeout=soon", "socket_timeout"),
        ("postgresql://nobody@127.0.0.1:1/none?prefx=app1_", "prefx"),
        ("postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none?sslmod=require", "sslmod"),
    ],
)
def test_an_option_the_driver_does_not_take_is_a_config_error_at_once(url: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        open_store(url)
    message = str(raised.value)
    assert named in message and "prefix" in message
    assert "hunter2" not in message


def test_a_gate_allowing_a_store_that_is_down_still_refuses_a_misspelt_url() -> None:
    with pytest.raises(ConfigError, match="prefx"):
        BudgetGate(store="postgresql://nobody@127.0.0.1:1/none?prefx=a_", on_store_error="allow")


def test_options_the_driver_takes_open_the_store() -> None:
    store = open_store("postgresql://nobody@127.0.0.1:1/none?sslmode=disable&prefix=app1_")
    store.close()
    store = open_store("redis://127.0.0.1:6399/0?socket_timeout=0.5&prefix=app1:")
    store.close()


def test_a_table_prefix_too_long_for_postgres_names_is_a_config_error_at_once(
    tmp_path: Path,
) -> None:
    # 41 characters pass the prefix rule, but "{prefix}budget_accounts_by_expiry" is then
    # 66, past Postgres's 63: every reservation failed as if the store were down.
    prefix = "a" * 41
    with pytest.raises(ConfigError) as raised:
        open_store(f"postgresql://nobody@127.0.0.1:1/none?prefix={prefix}")
    assert "budget_accounts_by_expiry" in str(raised.value) and "63" in str(raised.value)
    open_store(f"sqlite:///{tmp_path / 'budgets.db'}?prefix={prefix}").close()  # no limit


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://app:hunter2@db/app",  # a driver the store does not use
        "mysql://app:hunter2@db/app",
        "redis://app:hunter2@[::1/0",  # malformed: urllib raised a bare ValueError
        "sqlite://app:hunter2@/",  # no file
    ],
)
def test_a_store_url_that_cannot_be_opened_never_repeats_its_password(url: str) -> None:
    for open_it in (open_store, lambda u: budgets_from_config([{"name": "b", "limit_usd": 1}], u)):
        with pytest.raises(ConfigError) as raised:
            open_it(url)
        assert "hunter2" not in f"{raised.value} {raised.value.__cause__}"
