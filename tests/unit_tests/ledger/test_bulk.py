"""SQLite's bulk insert stores exactly what SQLAlchemy's Core insert stores."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from langchain_costrouter.ledger import LedgerRow, queries
from langchain_costrouter.ledger._bulk import ROWS_PER_STATEMENT, BulkInsert
from langchain_costrouter.ledger.schema import ledger_tables, migrate
from tests.unit_tests.ledger.support import sample_rows


def many_rows() -> list[LedgerRow]:
    """More rows than one statement takes, with every kind of value and a few Nones."""
    rows = []
    for i in range(ROWS_PER_STATEMENT * 2 + 7):
        base = sample_rows()[i % 3]
        rows.append(
            dataclasses.replace(
                base,
                run_id=f"run-{i}",
                time=datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(microseconds=i * 1001),
                latency_ms=None if i % 5 == 0 else i / 7,
                compression_saved_usd=Decimal("0.000000000003") if i % 4 == 0 else None,
                usage_estimated=i % 2 == 0,
                reason=f"reason 'quoted' {i}",
            )
        )
    return rows


def stored(engine: sa.Engine, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row as the database holds it (the driver's values, not SQLAlchemy's)."""
    with engine.connect() as conn:
        columns = ", ".join(c.name for c in table.columns if c.name != "id")
        return list(conn.exec_driver_sql(f"SELECT {columns} FROM {table.name} ORDER BY id"))


def test_bulk_rows_equal_core_rows_and_repeats_are_skipped(tmp_path: Path) -> None:
    rows = many_rows()
    written = {}
    for name in ("core", "bulk"):
        engine = sa.create_engine(f"sqlite:///{tmp_path / name}.sqlite3")
        migrate(engine, "costrouter_")
        table = ledger_tables("costrouter_").rows
        with engine.begin() as conn:
            if name == "core":
                insert = queries.insert_rows(table, "sqlite")
                conn.execute(insert, [queries.named(queries.row_values(row)) for row in rows])
                conn.execute(insert, [queries.named(queries.row_values(row)) for row in rows[:3]])
            else:
                bulk = BulkInsert(table, queries.ROW_COLUMNS, engine.dialect)
                bulk.execute(conn, [queries.row_values(row) for row in rows])
                bulk.execute(conn, [queries.row_values(row) for row in rows[:3]])  # skipped
        written[name] = stored(engine, table)
        engine.dispose()
    assert len(written["bulk"]) == len(rows)
    assert written["bulk"] == written["core"]


def test_the_faster_conversions_give_what_sqlalchemys_give() -> None:
    """A time and the flags skip SQLAlchemy's bind processors; their text is the same,
    whatever value reaches them (an aware or an early time, a flag that is not a bool)."""
    dialect = sa.create_engine("sqlite://").dialect
    table = ledger_tables().rows
    bulk = BulkInsert(table, queries.ROW_COLUMNS, dialect)
    samples: dict[type, list[Any]] = {
        sa.DateTime: [
            datetime(2026, 3, 1, 12),
            datetime(2026, 3, 1, 12, 0, 0, 7),
            datetime(5, 1, 1),
            datetime(2026, 3, 1, 12, tzinfo=UTC),
        ],
        sa.Boolean: [True, False, 1, 0],
    }
    checked = 0
    for position, convert in bulk._converted:
        column = table.c[queries.ROW_COLUMNS[position]]
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        assert process is not None
        for kind, values in samples.items():
            if isinstance(column.type, kind):
                for value in values:
                    assert convert(value) == process(value), (column.name, value)
                    checked += 1
    assert checked == 4 + 5 * 4  # the time column and the five flag columns
