"""On Postgres too, an index serves every filter of a summary (sequential scans disabled,
so a filter no index serves shows as a read without an index condition whatever the
statistics; tests/unit_tests/ledger/test_summary_plans.py checks SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from langchain_costrouter.ledger import GROUP_BY, GroupBy, open_ledger
from tests.services import POSTGRES_URL, drop_tables, require
from tests.unit_tests.ledger.plans import postgres_ledger_scans, summary_statements
from tests.unit_tests.ledger.recomputed import varied_rows
from tests.unit_tests.ledger.test_summary_plans import FILTERED

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    url = require(POSTGRES_URL, "Postgres")  # the postgres_url fixture is per test
    name = f"t{uuid.uuid4().hex[:10]}_"
    try:
        with open_ledger(url, table_prefix=name) as ledger:
            ledger.add(varied_rows())
        yield name
    finally:
        drop_tables(url, name)


@pytest.mark.parametrize("by", GROUP_BY)
@pytest.mark.parametrize("name", FILTERED)
def test_a_filtered_report_reads_no_whole_table(prefix: str, by: GroupBy, name: str) -> None:
    with open_ledger(POSTGRES_URL, table_prefix=prefix) as ledger:
        statements = summary_statements(ledger, by, "all", **FILTERED[name])
    assert postgres_ledger_scans(POSTGRES_URL, f"{prefix}ledger", statements) == []


def test_an_unfiltered_summary_is_seen_reading_the_whole_table(prefix: str) -> None:
    with open_ledger(POSTGRES_URL, table_prefix=prefix) as ledger:
        statements = summary_statements(ledger, "task")
    assert postgres_ledger_scans(POSTGRES_URL, f"{prefix}ledger", statements)
