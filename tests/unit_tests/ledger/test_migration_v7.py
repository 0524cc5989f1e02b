"""Migration 7 (indexes for filtered reports) on a SQLite ledger written at version 6,
and a new ledger created with the same indexes."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.ledger.engine import create_ledger_engine
from langchain_costrouter.ledger.schema import ledger_tables
from tests.unit_tests.ledger.compression_support import create_ledger_at
from tests.unit_tests.ledger.recomputed import recomputed, varied_rows

REPORT_INDEXES = {
    "costrouter_ledger_time": ["time"],
    "costrouter_ledger_model": ["model"],
    "costrouter_ledger_task_time": ["task", "time"],
    "costrouter_ledger_ns_time": ["namespace", "time"],
}


def indexes(engine: sa.Engine) -> dict[str, list[str]]:
    found = sa.inspect(engine).get_indexes("costrouter_ledger")
    return {index["name"]: list(index["column_names"]) for index in found}  # type: ignore[misc]


def test_a_version_6_file_gains_the_report_indexes_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v6.db'}"
    engine = create_ledger_engine(url)
    create_ledger_at(6, engine, "costrouter_", varied_rows())
    assert "costrouter_ledger_task" in indexes(engine)

    with open_ledger(url) as ledger:
        assert ledger.rows() == varied_rows()
        by_task = {row.key: row for row in ledger.summary(by="task", namespace="acme")}

    assert by_task == recomputed(varied_rows(), "task", namespace="acme")
    assert indexes(engine) == REPORT_INDEXES  # the task index is the first column of one
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM costrouter_schema_version")).all()
    engine.dispose()
    assert [v for (v,) in versions] == [1, 2, 3, 4, 5, 6, 7]


def test_a_new_ledger_has_the_indexes_its_tables_describe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with open_ledger(url):
        pass
    engine = create_ledger_engine(url)
    described = {
        str(index.name): [column.name for column in index.columns]
        for index in ledger_tables().rows.indexes
    }
    assert indexes(engine) == described == REPORT_INDEXES
    engine.dispose()
