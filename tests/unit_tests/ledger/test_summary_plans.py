"""A filtered summary reads only the rows it keeps: an index serves each filter.

Before the indexes of migration 7, a report of the last day on SQLite still read the
whole ledger: the calls left out of the savings were found by a GROUP BY run_id that
SQLite ran over the run id index, row by row, filtering afterwards; a report of one
namespace read every row. EXPLAIN QUERY PLAN shows every read of the ledger table. (A
purpose filter has no index: ``production`` is most rows, which a full read reads best.)
"""

from __future__ import annotations

import pytest

from langchain_costrouter.ledger import GROUP_BY, GroupBy, open_ledger
from tests.unit_tests.ledger.plans import sqlite_ledger_scans, sqlite_plan, summary_statements
from tests.unit_tests.ledger.recomputed import START, varied_rows

FILTERED = {
    "since": {"since": START},
    "until": {"until": START},
    "since and until": {"since": START, "until": START.replace(day=2)},
    "task": {"task": "chat"},
    "task since": {"task": "chat", "since": START},
    "namespace": {"namespace": "acme"},
    "namespace until": {"namespace": "acme", "until": START},
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.add(varied_rows())
    return url


@pytest.mark.parametrize("by", GROUP_BY)
@pytest.mark.parametrize("name", FILTERED)
def test_a_filtered_report_reads_no_whole_table(url: str, by: GroupBy, name: str) -> None:
    with open_ledger(url) as ledger:
        statements = summary_statements(ledger, by, "all", **FILTERED[name])
    assert sqlite_ledger_scans(url, "costrouter_ledger", statements) == []


def test_an_unfiltered_summary_is_seen_reading_the_whole_table(url: str) -> None:
    """The check above would see a full read: an unfiltered summary makes one."""
    with open_ledger(url) as ledger:
        statements = summary_statements(ledger, "task")
    assert sqlite_ledger_scans(url, "costrouter_ledger", statements)


@pytest.mark.parametrize("by", GROUP_BY)
@pytest.mark.parametrize("name", [None, *FILTERED])
def test_each_row_finds_its_call_among_the_unpriced_by_an_index(
    url: str, by: GroupBy, name: str | None
) -> None:
    """Read in a loop for every row, the unpriced calls would cost rows x calls: on
    200,000 rows a summary took 50 s instead of 1 (the join was on an expression of
    another affinity, which SQLite's automatic index does not serve)."""
    with open_ledger(url) as ledger:
        statements = summary_statements(ledger, by, **FILTERED.get(name or "", {}))
    reads = ("SCAN unpriced_calls", "SEARCH unpriced_calls")
    joins = [line for line in sqlite_plan(url, statements) if line.startswith(reads)]
    assert joins and all(line.startswith("SEARCH unpriced_calls USING") for line in joins)
