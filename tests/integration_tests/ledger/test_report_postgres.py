"""`costrouter report` on a Postgres ledger: with a filter, the text, JSON, CSV and HTML
outputs give the same totals, the ledger's to the picodollar, and the text's lines add
up to its total line."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger
from tests.services import drop_tables
from tests.unit_tests.cli.report_figures import lever_table, main_table, record_calls


@pytest.fixture
def prefix(postgres_url: str) -> Iterator[str]:
    name = f"r{uuid.uuid4().hex[:12]}_"
    with open_ledger(postgres_url, table_prefix=name) as ledger:
        record_calls(ledger, namespace="acme")
        record_calls(ledger, namespace="globex")
    yield name
    drop_tables(postgres_url, name)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["report", *args]) == 0
    return capsys.readouterr().out


def test_every_format_gives_the_ledgers_totals_and_the_text_adds_up(
    postgres_url: str, prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_ledger(postgres_url, table_prefix=prefix) as ledger:
        (expected,) = ledger.summary(by="all", namespace="acme")
        (everything,) = ledger.summary(by="all")
    assert expected.calls == 4 and everything.calls == 8  # the filter keeps half
    page = tmp_path / "report.html"
    args = ["--ledger", postgres_url, "--table-prefix", prefix, "--namespace", "acme"]
    text = _run(capsys, *args, "--html", str(page)).splitlines()
    totals = json.loads(_run(capsys, *args, "--json"))["totals"]
    rows = list(csv.DictReader(io.StringIO(_run(capsys, *args, "--csv"))))

    exact = (expected.cost_usd, expected.baseline_cost_usd, expected.savings_usd)
    table, levers = main_table(text), lever_table(text)
    shown = (Decimal(table["total"][3]), Decimal(table["total"][4]), levers["total"][-1])
    assert shown == exact
    csv_total = rows[-1]
    assert rows[-1]["task"] == "total"
    assert (
        tuple(Decimal(csv_total[name]) for name in ("cost_usd", "baseline_cost_usd", "savings_usd"))
        == exact
    )
    assert (totals["cost_usd"], totals["baseline_cost_usd"], totals["savings_usd"]) == tuple(
        float(amount) for amount in exact if amount is not None
    )
    headline = re.search(r"cost \$([\d.]+) against a baseline of \$([\d.]+)", page.read_text())
    assert headline is not None
    assert (Decimal(headline[1]), Decimal(headline[2])) == exact[:2]
    groups = [key for key in table if key != "total"]
    for column in (3, 4):
        assert sum(Decimal(table[key][column]) for key in groups) == Decimal(table["total"][column])
    for key, amounts in levers.items():
        assert sum(amounts[:-1]) == amounts[-1], key
