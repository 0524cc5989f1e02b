"""Migration 6 (the model ids sent and answered) on a SQLite ledger written at version 5."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.ledger.engine import create_ledger_engine
from tests.unit_tests.ledger.compression_support import create_ledger_at
from tests.unit_tests.ledger.support import sample_rows


def test_a_version_5_file_gains_the_model_ids_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v5.db'}"
    engine = create_ledger_engine(url)
    old = create_ledger_at(5, engine, "costrouter_", sample_rows())
    assert "request_model" not in old.c
    new = replace(
        sample_rows()[0], run_id="new", request_model="gpt-4o-mini", response_model="gpt-4o-mini-1"
    )

    with open_ledger(url) as ledger:
        assert ledger.rows() == sample_rows()  # old rows: both ids NULL
        ledger.add([new])
        stored = ledger.rows()

    assert stored == [*sample_rows(), new]
    assert all(row.request_model is row.response_model is None for row in stored[:-1])
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("costrouter_ledger")}
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM costrouter_schema_version")).all()
    engine.dispose()
    assert columns["request_model"]["nullable"] and columns["response_model"]["nullable"]
    assert [v for (v,) in versions] == [1, 2, 3, 4, 5, 6, 7]
