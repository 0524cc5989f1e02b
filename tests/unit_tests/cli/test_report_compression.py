"""``costrouter report`` shows the net saving of compression per task."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import LedgerRow, open_ledger
from tests.unit_tests.ledger.compression_support import compression_rows
from tests.unit_tests.ledger.support import sample_rows


def _ledger(tmp_path: Path, rows: list[LedgerRow]) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.add(rows)
    return url


def test_json_report_has_the_compression_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _ledger(tmp_path, compression_rows())
    assert main(["report", "--ledger", url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    groups = {group["key"]: group for group in report["groups"]}
    chat = groups["chat"]
    assert chat["compression_tokens_saved"] == 2000
    assert chat["compression_saved_usd"] == pytest.approx(0.005)
    assert chat["compression_cost_usd"] == pytest.approx(0.0001)
    assert chat["compression_net_usd"] == pytest.approx(0.0049)
    assert groups["classify"]["compression_net_usd"] is None
    assert report["totals"]["compression_net_usd"] == pytest.approx(0.0047)


def test_table_shows_compression_net_per_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _ledger(tmp_path, compression_rows())
    assert main(["report", "--ledger", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("compression net $")
    table = lines[2 : lines.index("")]  # these rows have no baseline: a note follows
    cells = {line.split()[0].rstrip("*"): line.split()[-1] for line in table if line[0] != "-"}
    assert cells == {
        "chat": "+0.004900",
        "extract": "-0.000200",
        "classify": "-",
        "total": "+0.004700",
    }


def test_no_compression_column_without_compression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _ledger(tmp_path, sample_rows())
    assert main(["report", "--ledger", url]) == 0
    out = capsys.readouterr().out
    assert "compression" not in out.splitlines()[0]  # the lever table below names every lever
    assert out.splitlines()[0].split()[-1] == "escalated"


def test_the_lever_table_adds_up_to_the_saving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _ledger(tmp_path, sample_rows())
    assert main(["report", "--ledger", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Savings by lever"))
    total = next(line for line in lines[start:] if line.startswith("total"))
    *levers, saved = (Decimal(cell) for cell in total.split()[1:])
    assert len(levers) == 5
    assert sum(levers) == saved
