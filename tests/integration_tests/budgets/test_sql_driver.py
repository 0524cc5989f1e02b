"""Statements on the driver's cursor: errors come back as SQLAlchemy's, and a connection
Postgres dropped is invalidated, so the store's retry runs on a fresh one."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
from langchain_costrouter.budgets.sql_driver import DriverStatement, fetch_all
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


def test_a_connection_postgres_dropped_is_replaced(
    postgres_store_url: str, postgres_url: str
) -> None:
    gate = BudgetGate([Budget(name="tenant", limit_usd=1)], postgres_store_url)
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
    (status,) = gate.status(ACME)
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.5"), Decimal(0))
    gate.close()
