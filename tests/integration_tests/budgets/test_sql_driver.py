"""Statements on the driver's cursor: errors come back as SQLAlchemy's, and a connection
Postgres dropped is invalidated, so the store's retry runs on a fresh one."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext, sql_driver
from langchain_costrouter.budgets.sql_driver import DriverStatement, fetch_all, fetch_all_after
from langchain_costrouter.budgets.sql_store import SQLStore
from langchain_costrouter.ledger.engine import sqlalchemy_url
from tests.integration_tests.budgets.conftest import clean_up, store_url

pytestmark = pytest.mark.services
ACME = CallContext("chat", {"tenant": "acme"})


@pytest.fixture
def postgres_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = store_url("postgres", request, tmp_path)
    yield url
    clean_up(url)


def test_a_failing_statement_raises_sqlalchemys_error_and_leaves_the_connection_usable(
    postgres_url: str,
) -> None:
    engine = sa.create_engine(sqlalchemy_url(postgres_url), isolation_level="AUTOCOMMIT")
    missing = DriverStatement("SELECT * FROM costrouter_no_such_table", {})
    with engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError) as error:
            fetch_all(conn, missing, {})
        assert not error.value.connection_invalidated
        assert fetch_all(conn, DriverStatement("SELECT %(n)s::int + 1", {}), {"n": 1}) == [(2,)]
    engine.dispose()


@pytest.mark.parametrize("budgets", [1, 2])
def test_a_connection_postgres_dropped_is_replaced(
    postgres_store_url: str, postgres_url: str, budgets: int
) -> None:
    # On two budgets the reservation is pipelined: the dropped connection fails there.
    tenant, every = Budget(name="tenant", limit_usd=1), Budget(name="all", limit_usd=10)
    gate = BudgetGate([tenant, every][:budgets], postgres_store_url)
    gate.settle(gate.reserve(ACME, "d", Decimal("0.5")), Decimal("0.25"))
    assert isinstance(gate.store, SQLStore)
    engine = gate.store._db.engine
    assert engine.pool.checkedin() == 1  # every call so far ran on this one connection
    with engine.connect() as conn:
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = sa.create_engine(sqlalchemy_url(postgres_url))
    with admin.connect() as conn:
        assert conn.execute(sa.select(sa.func.pg_terminate_backend(backend))).scalar_one()
    admin.dispose()
    # The pool hands out the dropped connection again: the reservation fails on it,
    # invalidates it, and is retried on a new one.
    reservation = gate.reserve(ACME, "d", Decimal("0.5"))
    gate.settle(reservation, Decimal("0.25"))
    standings = {(s.spent_usd, s.reserved_usd) for s in gate.status(ACME)}
    assert standings == {(Decimal("0.5"), Decimal(0))}
    gate.close()


@pytest.fixture(params=["pipeline", "begin-commit"])
def transaction_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways `fetch_all_after` runs its transaction: pipelined where psycopg's libpq
    can (the binary wheel's can), else BEGIN ... COMMIT."""
    if request.param == "begin-commit":
        monkeypatch.setattr(sql_driver, "_can_pipeline", lambda: False)
    return str(request.param)


@pytest.fixture
def autocommit_engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlalchemy_url(postgres_url), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def test_this_machine_pipelines() -> None:
    assert sql_driver._can_pipeline()  # so the reservations measured here take one round trip


def test_statements_after_the_first_run_in_its_transaction(
    autocommit_engine: sa.Engine, transaction_path: str
) -> None:
    # A setting made local to a transaction is seen by the next statement only inside it.
    mark = DriverStatement("SELECT set_config('costrouter.test_mark', %(value)s, true)", {})
    read = DriverStatement("SELECT current_setting('costrouter.test_mark', true)", {})
    with autocommit_engine.connect() as conn:
        assert fetch_all_after(conn, (mark,), read, {"value": transaction_path}) == [
            (transaction_path,)
        ]
        assert fetch_all(conn, read, {}) in ([("",)], [(None,)])  # that transaction ended


def test_a_failing_statement_rolls_back_the_ones_before_it(
    autocommit_engine: sa.Engine, transaction_path: str
) -> None:
    table = f"costrouter_test_{uuid.uuid4().hex[:12]}"
    insert = DriverStatement(f"INSERT INTO {table} VALUES (%(n)s)", {})
    failing = DriverStatement("SELECT 1 / (%(n)s - %(n)s)", {})
    count = DriverStatement(f"SELECT count(*) FROM {table}", {})
    with autocommit_engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (n int)")
        try:
            with pytest.raises(sa.exc.DataError, match="division by zero"):
                fetch_all_after(conn, (insert,), failing, {"n": 1})
            assert fetch_all(conn, count, {}) == [(0,)]  # and the connection still works
            assert fetch_all_after(conn, (insert,), count, {"n": 2}) == [(1,)]
            assert fetch_all(conn, count, {}) == [(1,)]  # committed
        finally:
            conn.exec_driver_sql(f"DROP TABLE {table}")


@pytest.mark.parametrize("entry", ["sync", "async"])
def test_a_reservation_on_two_budgets_is_one_pipeline(
    postgres_store_url: str, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    # The lock and the reservation go together (one round trip), not BEGIN, lock,
    # reservation, COMMIT one after the other; async calls run on psycopg's async driver.
    connection = psycopg.Connection if entry == "sync" else psycopg.AsyncConnection
    entered: list[object] = []
    pipeline = connection.pipeline

    def counted(self: Any) -> Any:
        entered.append(self)
        return pipeline(self)

    both = [Budget(name="tenant", per="tenant", limit_usd=1), Budget(name="all", limit_usd=10)]
    gate = BudgetGate(both, postgres_store_url)

    def reserve_and_settle() -> None:
        if entry == "sync":
            gate.settle(gate.reserve(ACME, "d", Decimal("0.5")), Decimal("0.25"))
            return

        async def both_steps() -> None:
            await gate.asettle(await gate.areserve(ACME, "d", Decimal("0.5")), Decimal("0.25"))

        asyncio.run(both_steps())

    reserve_and_settle()  # the accounts are made
    monkeypatch.setattr(connection, "pipeline", counted)
    reserve_and_settle()
    assert len(entered) == 1  # the settlement is one statement already
    assert {s.budget: s.spent_usd for s in gate.status(ACME)} == {
        "tenant": Decimal("0.5"),
        "all": Decimal("0.5"),
    }
    gate.close()


def test_reservations_cancelled_mid_pipeline_leave_the_store_whole(
    postgres_store_url: str,
) -> None:
    # Timeouts of 0.1-3 ms cancel some reservations while their pipeline is on the wire:
    # each is all or none, and the pooled connections still work after.
    both = [Budget(name="tenant", per="tenant", limit_usd=100), Budget(name="all", limit_usd=100)]
    gate = BudgetGate(both, postgres_store_url, lease_seconds=2)
    cost, rng = Decimal("0.005"), random.Random(7)

    async def calls() -> tuple[int, int]:
        settled = cancelled = 0
        for _ in range(150):
            try:
                reserving = gate.areserve(ACME, "d", Decimal("0.01"))
                reservation = await asyncio.wait_for(reserving, rng.uniform(0.0001, 0.003))
            except TimeoutError:
                cancelled += 1
                continue
            await gate.asettle(reservation, cost)
            settled += 1
        for _ in range(10):
            await gate.asettle(await gate.areserve(ACME, "d", Decimal("0.01")), cost)
        return settled + 10, cancelled

    settled, cancelled = asyncio.run(calls())
    gate.settle(gate.reserve(ACME, "d", Decimal("0.01")), cost)
    assert cancelled > 0  # the timeouts did cut some
    spent = {s.budget: s.spent_usd for s in gate.status(ACME)}
    assert spent == {"tenant": cost * (settled + 1), "all": cost * (settled + 1)}
    gate.close()
