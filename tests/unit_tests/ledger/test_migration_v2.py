"""Migrations 2 to 5 on a SQLite ledger file written before they existed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.ledger.engine import create_ledger_engine
from langchain_costrouter.metadata import LEVERS
from tests.unit_tests.ledger.compression_support import compression_rows, create_v1_ledger
from tests.unit_tests.ledger.support import sample_rows


def test_an_old_file_gains_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_ledger_engine(url)
    create_v1_ledger(engine, "costrouter_", sample_rows())

    with open_ledger(url) as ledger:
        assert ledger.rows() == sample_rows()  # old rows read back, saving unknown
        ledger.add(compression_rows())
        (totals,) = ledger.summary(by="all")
        stored = ledger.rows()[len(sample_rows()) :]

    assert stored == compression_rows()
    assert totals.compression_net_usd == Decimal("0.0047")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("costrouter_ledger")}
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM costrouter_schema_version")).all()
    engine.dispose()
    assert {"compression_saved_picousd", "output_cap_exceeded", "purpose", "status_code"} | {
        f"saved_{lever}_picousd" for lever in LEVERS
    } <= columns
    # Old rows: no cap exceeded, production.
    assert [v for (v,) in versions] == [1, 2, 3, 4, 5, 6, 7]
