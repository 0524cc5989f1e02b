"""``costrouter report`` on a ledger with unpriced calls and escalations: every line's
figures reconcile, what is left out is marked and counted, and by model the count is
of attempts, which add up to the total's."""

from __future__ import annotations

import csv
import importlib.util
import io
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import LedgerRow, open_ledger
from langchain_costrouter.metadata import LEVERS
from tests.unit_tests.cli.test_main import one_error_line
from tests.unit_tests.ledger.support import DAY_ONE
from tests.unit_tests.ledger.unpriced_support import mixed_rows


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.add(mixed_rows())
    return url


def _table(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> list[str]:
    assert main(["report", "--ledger", url, *args]) == 0
    return capsys.readouterr().out.splitlines()


def _line(lines: list[str], key: str) -> list[str]:
    """The cells of the first line for ``key`` (the lever table repeats the keys)."""
    return next(line.split() for line in lines if line.split()[:1] == [key])


def test_the_total_line_reconciles(capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
    lines = _table(capsys, ledger_url)
    calls, _, _, cost, reference, savings = _line(lines, "total*")[1:7]
    assert calls == "7"
    assert (cost, reference) == ("0.0000175", "0.0003000")  # the priced calls' only, exact
    assert savings == f"{100 * (0.0003 - 0.0000175) / 0.0003:.1f}%"  # (reference - cost) / ref
    levers = _line(lines[lines.index("") :], "total*")[1:]
    assert levers[-1] == f"{Decimal('0.0003') - Decimal('0.0000175'):+.7f}"  # the levers' sum


def test_unknown_savings_are_not_zero(capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
    lines = _table(capsys, ledger_url)
    for task in ("local*", "esc*"):  # no priced call: cost, reference and saving unknown
        assert _line(lines, task)[4:7] == ["unknown", "unknown", "unknown"]
    assert _line(lines, "mini*")[6] == "94.2%"
    out = "\n".join(lines)
    assert "* 3 calls are left out of cost, reference and savings" in out
    assert "2 rows have no known price" in out
    assert "their priced rows cost $0.0001200." in out


def test_csv_dollars_reconcile_exactly(capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
    assert main(["report", "--ledger", ledger_url, "--csv"]) == 0
    rows = {row["task"]: row for row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    for key in ("mini", "total"):
        row = rows[key]
        saved = Decimal(row["baseline_cost_usd"]) - Decimal(row["cost_usd"])
        assert saved == Decimal(row["savings_usd"]) == Decimal("0.0002825")
        assert sum(Decimal(row[f"saved_{lever}_usd"]) for lever in LEVERS) == saved
    assert (rows["total"]["unpriced_calls"], rows["local"]["savings_usd"]) == ("3", "")


def test_by_model_counts_attempts(capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
    lines = _table(capsys, ledger_url, "--by", "model")
    assert lines[0].split()[:2] == ["model", "attempts"]
    groups = lines[2 : lines.index(lines[1], 2)]  # between the two rules
    assert sum(int(line.split()[1]) for line in groups) == 8
    assert _line(lines, "total*")[1] == "8"  # the total counts attempts too
    out = "\n".join(lines)
    assert "the sum of the levers on the total line only" in out
    assert "attempts count each model's rows (made by 7 calls)" in out


def test_help_names_every_grouping(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "spend, tokens and savings per task, model, day or purpose" in capsys.readouterr().out


def test_html_shows_unknown_not_zero(
    capsys: pytest.CaptureFixture[str], ledger_url: str, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    page = tmp_path / "report.html"
    assert main(["report", "--ledger", ledger_url, "--html", str(page)]) == 0
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    assert "<td>local*</td><td>1</td><td>unknown</td><td>unknown</td><td>unknown</td>" in text
    assert "<td>mini*</td>" in text  # some of its calls are left out, as in the text table
    assert "saved 94.2% (3 calls of unknown price or saving left out)" in text


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="driver installed")
def test_a_missing_driver_is_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, ["report", "--ledger", "mysql://u:hunter2@h/db"])
    assert "the database driver MySQLdb is not installed (pip install 'mysqlclient')" in line
    assert "Use memory://, sqlite:///PATH or postgresql://" in line
    assert "hunter2" not in line


def test_html_levers_of_no_priced_call_are_unknown_not_zero_bars(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    url = f"sqlite:///{tmp_path / 'unpriced.db'}"
    with open_ledger(url) as ledger:  # only the calls whose cost or saving is unknown
        ledger.add(row for row in mixed_rows() if row.task in ("local", "esc"))
    page = tmp_path / "report.html"
    assert main(["report", "--ledger", url, "--html", str(page)]) == 0
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    assert "<figcaption>Savings by lever (USD): unknown, no call has a known saving" in text


def test_html_shows_a_refused_call_s_missing_cost_as_the_text_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A provider that refused the call (a 400) billed nothing: its row has an error and
    no cost, which is not an unknown price. The text table shows "-" for its task; the
    page said "unknown" for its cost and baseline, a price no row lacks."""
    pytest.importorskip("matplotlib")
    url = f"sqlite:///{tmp_path / 'refused.db'}"
    refused = LedgerRow(
        time=DAY_ONE,
        run_id="r",
        model="gpt-4o-mini",
        task="refused",
        accepted=False,
        error="BadRequestError",
        status_code=400,
    )
    with open_ledger(url) as ledger:
        ledger.add([refused])
    page = tmp_path / "report.html"
    lines = _table(capsys, url, "--html", str(page))
    assert _line(lines, "refused")[4:7] == ["-", "-", "-"]  # cost, reference, savings
    text = page.read_text(encoding="utf-8")
    assert "<td>refused</td><td>1</td><td>-</td><td>-</td><td>-</td>" in text
    assert "1 calls; cost - against a baseline of -; saved -" in text
    assert "unknown" not in text
