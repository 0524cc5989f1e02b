"""`costrouter report` reads one snapshot of a live ledger: rows written while it runs
its queries (groups, total, and the HTML page's days and tasks) never make its groups
and its total disagree, on SQLite and on Postgres.

The write is injected between the report's queries, deterministically: every summary
or count query after the first is preceded by another writer (a second ledger, its own
connections) committing a copy of a call.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger, summary_sql
from tests.services import drop_tables
from tests.unit_tests.cli.report_figures import record_calls

Target = tuple[str, str]
"""A ledger's URL and table prefix."""


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        url, prefix = f"sqlite:///{tmp_path / 'ledger.db'}", "costrouter_"
    else:
        url, prefix = request.getfixturevalue("postgres_url"), f"s{uuid.uuid4().hex[:12]}_"
    with open_ledger(url, table_prefix=prefix) as ledger:
        record_calls(ledger)
    yield url, prefix
    if request.param == "postgres":
        drop_tables(url, prefix)


@pytest.fixture
def writes_between_queries(target: Target, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Before each summary or count query but the first, another writer commits one more
    call (a copy of the ledger's first call under a new run id); yields how many it wrote."""
    url, prefix = target
    writer = open_ledger(url, table_prefix=prefix)
    call = [row for row in writer.rows() if row.run_id == writer.rows()[0].run_id]
    built: list[object] = []
    written: list[int] = []

    def writing_first(build: Any) -> Any:
        def query(*args: Any, **kwargs: Any) -> Any:
            if built:  # not the first query
                run_id = f"written-meanwhile-{len(written)}"
                writer.add([dataclasses.replace(row, run_id=run_id) for row in call])
                assert writer.flush() == 0
                written.append(len(call))
            built.append(build(*args, **kwargs))
            return built[-1]

        return query

    for name in ("summary_query", "calls_query"):
        monkeypatch.setattr(summary_sql, name, writing_first(getattr(summary_sql, name)))
    yield written
    writer.close()


def test_groups_and_total_agree_while_rows_are_written(
    target: Target,
    writes_between_queries: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, prefix = target
    page = tmp_path / "report.html"
    args = ["report", "--ledger", url, "--table-prefix", prefix, "--json", "--html", str(page)]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    # The groups, the count of calls that adds them up to the total, the days (the
    # page's tasks are the groups again, read once).
    assert len(writes_between_queries) == 2
    groups, totals = report["groups"], report["totals"]
    assert sum(group["calls"] for group in groups) == totals["calls"] == 4
    for name in ("cost_usd", "baseline_cost_usd"):
        assert sum(Decimal(repr(group[name])) for group in groups) == Decimal(repr(totals[name]))
    tasks = _html_task_table(page.read_text())
    assert tasks.pop("total") == (4, Decimal(repr(totals["cost_usd"])))
    assert sum(calls for calls, _ in tasks.values()) == 4
    assert sum(cost for _, cost in tasks.values()) == Decimal(repr(totals["cost_usd"]))
    headline = re.search(r"(\d+) calls; cost \$([\d.]+)", page.read_text())
    assert headline is not None and int(headline[1]) == 4
    with open_ledger(url, table_prefix=prefix) as ledger:  # the writes did land
        (after,) = ledger.summary(by="all")
    assert after.calls == 4 + len(writes_between_queries)


def _html_task_table(page: str) -> dict[str, tuple[int, Decimal]]:
    """The HTML task table's lines: calls and cost $ by task, and the total line."""
    cells = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td><td>([\d.]+)</td>", page)
    return {key: (int(calls), Decimal(cost)) for key, calls, cost in cells}
