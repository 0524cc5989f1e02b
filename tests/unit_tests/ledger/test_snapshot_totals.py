"""A total asked after its groups, in one snapshot, is the rows' total recomputed.

The SQL snapshot adds groups up to their total when they share no call (one count of
distinct run ids instead of a second pass over every row, `ledger/_sql_snapshot.py`),
and reads it whole otherwise; both must give the figures `recomputed` gives.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from langchain_costrouter.ledger import GROUP_BY, GroupBy, Ledger, LedgerRow, open_ledger
from langchain_costrouter.ledger._sql_snapshot import total_of
from langchain_costrouter.ledger.summary import GroupTotals
from tests.unit_tests.ledger.recomputed import FILTERS, recomputed, varied_rows

GROUPS = [by for by in GROUP_BY if by != "all"]
ROWS = {"spread": varied_rows(), "whole": varied_rows(whole=True)}
"""Calls whose rows fall in several groups of every key, and calls that do only by model."""


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def ledgers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Ledger]]:
    opened = {}
    for name, rows in ROWS.items():
        path = tmp_path_factory.mktemp("totals") / f"{name}.db"
        url = "memory://" if request.param == "memory" else f"sqlite:///{path}"
        opened[name] = open_ledger(url)
        opened[name].add(rows)
    yield opened
    for ledger in opened.values():
        ledger.close()


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
        again = view.summary(by, **filters)  # type: ignore[arg-type]
    assert {total.key: total} == recomputed(ROWS[rows], "all", **filters)
    assert {row.key: row for row in groups} == recomputed(ROWS[rows], by, **filters)
    assert again == groups


def statements_of(ledger: Ledger, asked: list[GroupBy]) -> list[str]:
    """The SELECTs the summaries ``asked`` run, in order, in one snapshot."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    ledger.flush()
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        with ledger.snapshot() as view:
            for by in asked:
                view.summary(by, since="2026-03-02")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    return [statement for statement in seen if statement.lstrip().startswith("SELECT")]


def test_the_total_of_groups_sharing_no_call_is_added_up(tmp_path: object) -> None:
    with open_ledger(f"sqlite:///{tmp_path}/whole.db") as ledger:
        ledger.add(ROWS["whole"])
        by_task = statements_of(ledger, ["task", "all", "task"])
        by_model = statements_of(ledger, ["model", "all"])
    # The tasks' statement, then the count of calls; the tasks again are not read again.
    assert len(by_task) == 2 and "count(DISTINCT" in by_task[1] and "GROUP BY" not in by_task[1]
    # A call's attempts ask several models: the count differs, and the total is read.
    assert len(by_model) == 3 and by_model[2].count("GROUP BY") == 1  # its unpriced calls'
    assert _calls_spread_over_models(ROWS["whole"])


def _calls_spread_over_models(rows: list[LedgerRow]) -> bool:
    models: dict[str, set[str]] = {}
    for row in rows:
        models.setdefault(row.run_id, set()).add(row.model)
    return any(len(named) > 1 for named in models.values())


def test_an_amount_no_group_knows_stays_unknown_in_the_total() -> None:
    groups = [
        GroupTotals("a", calls=1, attempts=2, saved_cache_picousd=-3),
        GroupTotals("b", calls=2, cost_picousd=7, compression_saved_picousd=None),
        GroupTotals("c", calls=1, cost_picousd=5, unpriced_calls_known_cost_picousd=0),
    ]
    total = total_of(groups)
    assert (total.key, total.calls, total.attempts, total.saved_cache_picousd) == ("all", 4, 2, -3)
    assert (total.cost_picousd, total.unpriced_calls_known_cost_picousd) == (12, 0)
    assert total.baseline_picousd is None and total.compression_saved_picousd is None
