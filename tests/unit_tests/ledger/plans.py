"""The query plans of the statements a ledger's summary runs, read from the database.

`summary_statements` records what a snapshot's summaries send (through SQLAlchemy's
``before_cursor_execute`` event on every engine); `sqlite_ledger_scans` and
`postgres_ledger_scans` have the database explain each one and return the reads of the
ledger table that use no index condition, i.e. that read every row (`sqlite_plan`: every
line of SQLite's plans).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from langchain_costrouter.ledger import GroupBy, Ledger

Statement = tuple[str, Any]


def summary_statements(ledger: Ledger, *groupings: GroupBy, **filters: Any) -> list[Statement]:
    """The SELECTs (text and driver parameters) that summaries by ``groupings`` of the
    rows ``filters`` keep run, read in one snapshot as a report reads them."""
    seen: list[Statement] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    ledger.flush()  # rows written now, not during the summary
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        with ledger.snapshot() as view:
            for by in groupings:
                view.summary(by, **filters)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert seen, "the summaries ran no SELECT"
    return seen


def sqlite_plan(url: str, statements: list[Statement]) -> list[str]:
    """The EXPLAIN QUERY PLAN lines of the statements."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                str(line[-1])
                for statement, params in statements
                for line in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
    finally:
        engine.dispose()


def sqlite_ledger_scans(url: str, table: str, statements: list[Statement]) -> list[str]:
    """EXPLAIN QUERY PLAN lines that read ``table`` whole (a SCAN, with or without an index)."""
    details = sqlite_plan(url, statements)
    return [d for d in details if d.startswith("SCAN ") and f" {table}" in f" {d}"]


def postgres_ledger_scans(url: str, table: str, statements: list[Statement]) -> list[str]:
    """Plan nodes that read ``table`` without an index condition, with sequential scans
    disabled: a filter that no index serves still reads every row (an index scanned in
    full, or a sequential scan), whatever the statistics of a small test table."""
    engine = sa.create_engine(url)
    scans: list[str] = []
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, params in statements:
                (plan,) = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).one()
                document = plan if isinstance(plan, list) else json.loads(plan)
                scans += [
                    f"{node['Node Type']} on {table}"
                    for node in _nodes(document[0]["Plan"])
                    if node.get("Relation Name") == table and not _indexed(node)
                ]
    finally:
        engine.dispose()
    return scans


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _indexed(node: dict[str, Any]) -> bool:
    """An index scan with a condition, or a bitmap heap scan (its children carry them)."""
    if node["Node Type"] == "Bitmap Heap Scan":
        return all("Index Cond" in child for child in node.get("Plans", []))
    return "Index Cond" in node
