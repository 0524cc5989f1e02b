"""A Postgres ledger's summaries equal their recomputation from the rows, to the picodollar,
and so does a total added up from its groups in one snapshot
(tests/unit_tests/ledger/test_summary_recomputed.py and test_snapshot_totals.py check
SQLite and memory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from langchain_costrouter.ledger import GROUP_BY, GroupBy, Ledger, open_ledger
from tests.services import POSTGRES_URL, drop_tables, require
from tests.unit_tests.ledger.recomputed import FILTERS, recomputed
from tests.unit_tests.ledger.test_snapshot_totals import GROUPS, ROWS

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def ledgers() -> Iterator[dict[str, Ledger]]:
    url = require(POSTGRES_URL, "Postgres")  # the postgres_url fixture is per test
    prefixes = {name: f"t{uuid.uuid4().hex[:10]}_" for name in ROWS}
    opened = {name: open_ledger(url, table_prefix=prefix) for name, prefix in prefixes.items()}
    try:
        for name, ledger in opened.items():
            ledger.add(ROWS[name])
        yield opened
    finally:
        for ledger in opened.values():
            ledger.close()
        for prefix in prefixes.values():
            drop_tables(url, prefix)


@pytest.mark.parametrize("by", GROUP_BY)
@pytest.mark.parametrize("name", FILTERS)
def test_the_summary_is_the_rows_recomputed(
    ledgers: dict[str, Ledger], by: GroupBy, name: str
) -> None:
    filters = FILTERS[name]
    summary = ledgers["spread"].summary(by, **filters)  # type: ignore[arg-type]
    expected = recomputed(ROWS["spread"], by, **filters)
    assert {row.key: row for row in summary} == expected
    assert len(summary) == len(expected)


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("by", GROUPS)
@pytest.mark.parametrize("name", FILTERS)
def test_the_total_after_the_groups_is_the_rows_total(
    ledgers: dict[str, Ledger], rows: str, by: GroupBy, name: str
) -> None:
    filters = FILTERS[name]
    with ledgers[rows].snapshot() as view:
        groups = view.summary(by, **filters)  # type: ignore[arg-type]
        (total,) = view.summary("all", **filters)  # type: ignore[arg-type]
    assert {total.key: total} == recomputed(ROWS[rows], "all", **filters)
    assert {row.key: row for row in groups} == recomputed(ROWS[rows], by, **filters)
