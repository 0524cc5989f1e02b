"""A router whose construction fails closes the stores it opened, last first, and the
`ConfigError` that stopped it is what the caller sees.

A part built after the stores (the shadow evaluation, the telemetry) can still refuse
the configuration; the router is then never made, nothing else holds its stores, and
before they were closed their SQLite files (ledger, shadow tables) and the ledger's
journal stayed open for the life of the process. Files held are read from
``/proc/self/fd``, which is what the process really holds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import Budget, RoutedChatModel
from langchain_costrouter.budgets import BudgetGate, open_store
from langchain_costrouter.cache import ResponseCache, open_cache
from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.ledger.schema import DEFAULT_TABLE_PREFIX
from langchain_costrouter.ledger.spool import spool_dir
from langchain_costrouter.ledger.sql import SQLLedger
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.shadow.store import ShadowStore
from langchain_costrouter.testing.models import ScriptedChatModel

PRICES = PriceTable({"small": ModelPrice(input_per_mtok=0.1, output_per_mtok=0.4)})
"""``small`` priced, ``judge`` not: under a budget the shadow's judge is refused."""


def held(*roots: Path) -> list[str]:
    """The files under ``roots`` this process has open."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since listed (the listing's own descriptor)
            continue
        if any(target.startswith(str(root)) for root in roots):
            found.append(target)
    return sorted(found)


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """This test's files, and its ledger's journal directory (other tests' ledgers
    journal under the same root)."""
    return tmp_path, spool_dir(f"sqlite:///{tmp_path / 'ledger.db'}", DEFAULT_TABLE_PREFIX)


def router_kwargs(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A router over files in ``tmp_path``: ledger, disk cache, budget store, shadow
    tables; a shadowed task ``chat`` judged by ``judge``, which has no price."""
    return {
        "routes": {
            "chat": [ScriptedChatModel(model="small")],
            "grading": [ScriptedChatModel(model="judge")],
        },
        "default_task": "chat",
        "prices": PRICES,
        "ledger": f"sqlite:///{tmp_path / 'ledger.db'}",
        "cache": f"diskcache://{tmp_path / 'cache'}",
        "budget_store": f"sqlite:///{tmp_path / 'budgets.db'}",
        "shadow": ShadowConfig(
            tasks={"chat": 1.0}, score="judge:judge", store=f"sqlite:///{tmp_path / 'shadow.db'}"
        ),
        **overrides,
    }


def test_a_shadow_task_with_no_route_leaves_no_file_open(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    # Before: ledger.db, shadow.db (each with -wal and -shm) and the ledger's journal
    # stayed open after the ConfigError, as long as anything held the error.
    shadow = ShadowConfig(
        tasks={"translation": 1.0}, score="exact", store=f"sqlite:///{tmp_path / 'shadow.db'}"
    )
    with pytest.raises(ConfigError) as refused:
        RoutedChatModel(**router_kwargs(tmp_path, shadow=shadow))
    assert refused.value.key == "shadow.tasks"
    assert (tmp_path / "shadow.db").exists()  # it was opened (and migrated) ...
    assert held(*roots) == []  # ... and closed again


def test_an_unpriced_judge_under_a_budget_leaves_no_file_open(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    budgets = [Budget(name="global", limit_usd=1, per=None)]
    with pytest.raises(ConfigError) as refused:
        RoutedChatModel(**router_kwargs(tmp_path, budgets=budgets))
    assert refused.value.key == "shadow.score"
    assert held(*roots) == []
    # The files are free: a router on the same files is built and answers.
    budgets = [Budget(name="global", limit_usd=1, per=None)]
    prices = PriceTable({**PRICES.overrides, "judge": PRICES.overrides["small"]})
    routed = RoutedChatModel(**router_kwargs(tmp_path, budgets=budgets, prices=prices))
    assert routed.invoke("hi").content == "ok"


def test_a_bad_telemetry_field_closes_the_ledger_it_follows(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    with pytest.raises(ConfigError) as refused:
        RoutedChatModel(**router_kwargs(tmp_path, shadow=None, telemetry="otel"))
    assert refused.value.key == "telemetry"
    assert held(*roots) == []


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stores' real close methods, each noting its store's name as it runs."""
    order: list[str] = []
    for name, cls in [
        ("cache", ResponseCache),
        ("ledger", SQLLedger),
        ("budget store", BudgetGate),
        ("shadow", ShadowStore),
    ]:
        real = cls.close

        def noting(self: Any, *args: Any, _name: str = name, _real: Any = real) -> Any:
            order.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(cls, "close", noting)
    return order


def test_the_stores_close_last_opened_first(tmp_path: Path, closed: list[str]) -> None:
    budgets = [Budget(name="global", limit_usd=1, per=None)]
    with pytest.raises(ConfigError):
        RoutedChatModel(**router_kwargs(tmp_path, budgets=budgets))
    assert closed == ["shadow", "budget store", "ledger", "cache"]


def test_a_store_that_fails_to_close_is_warned_about_and_the_config_error_raised(
    tmp_path: Path, roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: BudgetGate) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(BudgetGate, "close", broken)
    budgets = [Budget(name="global", limit_usd=1, per=None)]
    warned = pytest.warns(BackendUnavailableWarning, match="budget store.*disk gone")
    with warned, pytest.raises(ConfigError) as refused:
        RoutedChatModel(**router_kwargs(tmp_path, budgets=budgets))
    assert refused.value.key == "shadow.score"  # not the close's OSError
    assert held(*roots) == []  # the others closed all the same


def test_stores_passed_in_as_objects_are_the_callers_and_stay_open(
    tmp_path: Path, closed: list[str]
) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    cache = open_cache(f"diskcache://{tmp_path / 'cache'}")
    store = open_store(f"sqlite:///{tmp_path / 'budgets.db'}")
    budgets = [Budget(name="global", limit_usd=1, per=None)]
    kwargs = router_kwargs(tmp_path, ledger=ledger, cache=cache, budget_store=store)
    with pytest.raises(ConfigError):
        RoutedChatModel(**kwargs, budgets=budgets)
    assert closed == ["shadow"]  # the router opened only the shadow tables
    assert ledger.rows() == []  # the caller's ledger still reads
    ledger.close()
    cache.close()
    store.close()


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("cache", "redis://:hunter2secret@localhost:notaport/0"),
        ("ledger", "postgresql+psycopg://user:hunter2secret@localhost:abc/db"),
        ("budget_store", "redis://:hunter2secret@localhost:notaport/0"),
    ],
)
def test_a_url_its_driver_cannot_parse_is_named_by_its_field(field: str, url: str) -> None:
    """A driver's own parse error (a ValueError) said which value was wrong only as
    "check the URLs given as cache=, ledger= and budget_store=": the field is named."""
    extra: dict[str, Any] = {field: url}
    if field == "budget_store":  # a store is opened for budgets only
        extra["budgets"] = [Budget(name="daily", limit_usd=1, per=None)]
    with pytest.raises(ConfigError) as caught:
        RoutedChatModel(
            routes={"chat": [ScriptedChatModel(model="m")]},
            prices=PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)}),
            **extra,
        )
    assert caught.value.key == field
    assert "hunter2secret" not in str(caught.value)
