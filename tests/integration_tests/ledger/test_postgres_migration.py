"""Migrations 2 to 7 on a Postgres ledger created before they existed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa

from langchain_costrouter.ledger import InMemoryLedger, open_ledger
from langchain_costrouter.ledger.engine import create_ledger_engine
from tests.services import drop_tables
from tests.unit_tests.ledger.compression_support import (
    compression_rows,
    create_ledger_at,
    create_v1_ledger,
)
from tests.unit_tests.ledger.recomputed import recomputed, varied_rows
from tests.unit_tests.ledger.support import sample_rows

pytestmark = pytest.mark.services


@pytest.fixture
def prefix(postgres_url: str) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}_"
    yield name
    drop_tables(postgres_url, name)


def test_an_old_ledger_gains_the_column_and_keeps_its_rows(postgres_url: str, prefix: str) -> None:
    engine = create_ledger_engine(postgres_url)
    create_v1_ledger(engine, prefix, sample_rows())
    memory = InMemoryLedger()
    memory.add([*sample_rows(), *compression_rows()])

    with open_ledger(postgres_url, table_prefix=prefix) as ledger:
        assert ledger.rows() == sample_rows()
        ledger.add(compression_rows())
        assert ledger.rows() == [*sample_rows(), *compression_rows()]
        by_task = ledger.summary(by="task")
        assert by_task == memory.summary(by="task")

    assert {row.key: row.compression_net_usd for row in by_task}["chat"] == Decimal("0.0049")
    columns = sa.inspect(engine).get_columns(f"{prefix}ledger")
    with engine.connect() as conn:
        versions = conn.execute(sa.text(f"SELECT version FROM {prefix}schema_version")).all()
    engine.dispose()
    saved = next(c for c in columns if c["name"] == "compression_saved_picousd")
    assert saved["nullable"] and isinstance(saved["type"], sa.BigInteger)
    flag = next(c for c in columns if c["name"] == "output_cap_exceeded")
    assert not flag["nullable"] and isinstance(flag["type"], sa.Boolean)
    assert sorted(v for (v,) in versions) == [1, 2, 3, 4, 5, 6, 7]


def test_a_version_5_ledger_gains_the_model_ids(postgres_url: str, prefix: str) -> None:
    engine = create_ledger_engine(postgres_url)
    assert "request_model" not in create_ledger_at(5, engine, prefix, sample_rows()).c
    new = replace(
        sample_rows()[0], run_id="new", request_model="gpt-4o-mini", response_model="gpt-4o-mini-1"
    )

    with open_ledger(postgres_url, table_prefix=prefix) as ledger:
        assert ledger.rows() == sample_rows()  # old rows: both ids NULL
        ledger.add([new])
        assert ledger.rows() == [*sample_rows(), new]

    columns = {c["name"]: c for c in sa.inspect(engine).get_columns(f"{prefix}ledger")}
    with engine.connect() as conn:
        versions = conn.execute(sa.text(f"SELECT version FROM {prefix}schema_version")).all()
    engine.dispose()
    assert columns["request_model"]["nullable"] and columns["response_model"]["nullable"]
    assert sorted(v for (v,) in versions) == [1, 2, 3, 4, 5, 6, 7]


def test_a_version_6_ledger_gains_the_report_indexes(postgres_url: str, prefix: str) -> None:
    engine = create_ledger_engine(postgres_url)
    create_ledger_at(6, engine, prefix, varied_rows())
    table = f"{prefix}ledger"

    with open_ledger(postgres_url, table_prefix=prefix) as ledger:
        assert ledger.rows() == varied_rows()
        by_day = {row.key: row for row in ledger.summary(by="day", task="chat")}

    assert by_day == recomputed(varied_rows(), "day", task="chat")
    found = sa.inspect(engine).get_indexes(table)
    engine.dispose()
    assert {index["name"]: index["column_names"] for index in found} == {
        f"{table}_time": ["time"],
        f"{table}_model": ["model"],
        f"{table}_task_time": ["task", "time"],
        f"{table}_ns_time": ["namespace", "time"],
        f"{table}_run_attempt": ["run_id", "attempt"],  # the unique constraint's
    }
