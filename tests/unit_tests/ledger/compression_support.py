"""Ledger rows of calls with prompt compression, and a ledger file of the old schema."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa

from langchain_costrouter.ledger import LedgerRow
from langchain_costrouter.ledger import schema as ledger_schema
from langchain_costrouter.ledger.queries import named, row_values
from tests.unit_tests.ledger.support import DAY_ONE


def compression_rows() -> list[LedgerRow]:
    """Four calls.

    - c1 (chat): the compressor ($0.0001) saved 1,000 tokens worth $0.0025; answer $0.005.
    - c2 (chat): the memo served the same text: 1,000 tokens worth $0.0025, no compressor.
    - c3 (classify): no compression.
    - c4 (extract): the compressor ran ($0.0002) and its result was not used: nothing saved.
    """
    answer = LedgerRow(time=DAY_ONE, run_id="", task="chat", model="big", cost_usd=Decimal("0.005"))
    compressor = replace(answer, model="mini", tier=-1, role="compressor", accepted=False)
    return [
        _saving(replace(compressor, run_id="c1", cost_usd=Decimal("0.0001"))),
        replace(answer, run_id="c1", attempt=1),
        _saving(replace(answer, run_id="c2")),
        replace(answer, run_id="c3", task="classify", cost_usd=Decimal("0.001")),
        replace(compressor, run_id="c4", task="extract", cost_usd=Decimal("0.0002")),
        replace(answer, run_id="c4", attempt=1, task="extract"),
    ]


def _saving(row: LedgerRow) -> LedgerRow:
    """1,000 prompt tokens saved, worth $0.0025 on the serving model."""
    return replace(row, compression_tokens_saved=1000, compression_saved_usd=Decimal("0.0025"))


def create_v1_ledger(engine: sa.Engine, prefix: str, rows: Iterable[LedgerRow]) -> None:
    """A ledger as the package wrote it before migration 2, holding ``rows``."""
    table = create_ledger_at(1, engine, prefix, rows)
    assert "compression_saved_picousd" not in table.c


def create_ledger_at(
    version: int, engine: sa.Engine, prefix: str, rows: Iterable[LedgerRow]
) -> sa.Table:
    """A ledger as the package wrote it at schema ``version``, holding ``rows`` (their
    values of the columns that version had); returns its table as the database has it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_schema, "MIGRATIONS", ledger_schema.MIGRATIONS[:version])
        patch.setattr(ledger_schema, "LATEST_VERSION", version)
        ledger_schema.migrate(engine, prefix)
    table = sa.Table(f"{prefix}ledger", sa.MetaData(), autoload_with=engine)
    values = [{k: v for k, v in named(row_values(row)).items() if k in table.c} for row in rows]
    with engine.begin() as conn:
        conn.execute(sa.insert(table), values)
    return table
