"""What `costrouter report` prints adds up: the groups' dollars to the total line's, a
line's levers to its saving, its reference minus its cost to the same saving; and every
amount shown is the ledger's own, not a rounding of it (text and HTML alike)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import LedgerRow, SummaryRow, open_ledger
from tests.unit_tests.cli.report_figures import (
    lever_table,
    levers_of,
    main_table,
    record_calls,
    rounded,
)
from tests.unit_tests.ledger.support import DAY_ONE


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    record_calls(url)
    return url


def _summaries(url: str) -> dict[str, SummaryRow]:
    with open_ledger(url) as ledger:
        rows = {row.key: row for row in ledger.summary(by="task")}
        (rows["total"],) = ledger.summary(by="all")
    return rows


def test_every_dollar_in_the_text_report_is_the_ledgers_and_the_lines_add_up(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = _summaries(ledger_url)
    label = ledger["label"]
    # The case at hand: rounded line by line, label's levers would miss its saving.
    assert sum(rounded(v) for v in levers_of(label)[:-1]) != rounded(levers_of(label)[-1])
    assert main(["report", "--ledger", ledger_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    table, levers = main_table(lines), lever_table(lines)
    assert set(table) == set(levers) == {"label", "chat", "total"}
    for key, cells in table.items():
        cost, reference = Decimal(cells[3]), Decimal(cells[4])
        assert (cost, reference) == (ledger[key].cost_usd, ledger[key].baseline_cost_usd), key
        assert levers[key] == levers_of(ledger[key]), key
        assert sum(levers[key][:-1]) == levers[key][-1] == reference - cost, key
    for column in (3, 4):
        assert Decimal(table["label"][column]) + Decimal(table["chat"][column]) == Decimal(
            table["total"][column]
        )
    for column in range(6):
        assert levers["label"][column] + levers["chat"][column] == levers["total"][column]


def test_the_html_tasks_add_up_to_its_headline(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    ledger = _summaries(ledger_url)
    page = tmp_path / "report.html"
    assert main(["report", "--ledger", ledger_url, "--html", str(page)]) == 0
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    cells = re.findall(r"<tr><td>(\w+)</td><td>\d+</td><td>([\d.]+)</td><td>([\d.]+)</td>", text)
    shown = {key: (Decimal(cost), Decimal(reference)) for key, cost, reference in cells}
    for key in ("label", "chat", "total"):
        row = ledger[key]
        assert shown[key] == (row.cost_usd, row.baseline_cost_usd), key
    for column in (0, 1):
        assert shown["label"][column] + shown["chat"][column] == shown["total"][column]
    _, cost, reference = cells[-1]
    assert f"cost ${cost} against a baseline of ${reference}" in text  # the headline


def test_every_percentage_is_the_ledger_s_exact_figure_rounded_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """23 of 80 calls escalated (28.75%) and $0.247 saved of $2 (12.35%): the text and the
    page show 28.8% and 12.4%, SQL's round of the ledger's sums (SQLite and Postgres);
    rounded from their floats (28.749999999999996, 12.349999999999999) they read 28.7%
    and 12.3%. The JSON keeps the unrounded figure."""
    pytest.importorskip("matplotlib")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    costs = [Decimal("0.0219")] * 79 + [Decimal("0.0229")]  # $1.753 in all
    with open_ledger(url) as ledger:
        ledger.add(
            LedgerRow(
                time=DAY_ONE,
                run_id=f"r{index}",
                task="label",
                model="gpt-4o-mini",
                cost_usd=cost,
                price_source="price_map",
                baseline_cost_usd=Decimal("0.025"),
                escalated=index < 23,
                saved_routing_usd=Decimal("0.025") - cost,
                saved_cascade_usd=Decimal(0),
                saved_cache_usd=Decimal(0),
                saved_compression_usd=Decimal(0),
                saved_batching_usd=Decimal(0),
            )
            for index, cost in enumerate(costs)
        )
    page = tmp_path / "report.html"
    assert main(["report", "--ledger", url, "--html", str(page)]) == 0
    table = main_table(capsys.readouterr().out.splitlines())
    for key in ("label", "total"):
        assert table[key][5::2] == ["12.4%", "28.8%"], key  # savings, escalated
    text = page.read_text(encoding="utf-8")
    assert "saved 12.4%" in text and "<td>12.4%</td>" in text and "12.3%" not in text
    assert main(["report", "--ledger", url, "--json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert (totals["savings_pct"], totals["escalated_calls"]) == (12.35, 23)
