from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from langchain_core.exceptions import ModelAPIError

from langchain_costrouter import CircuitBreakers, RetryPolicy, RoutedChatModel
from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.testing import ScriptedChatModel
from tests.unit_tests.ledger.support import sample_rows


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.add(sample_rows())
    return url


def test_json_report_totals(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--ledger", ledger_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["by"] == "task"
    assert [group["key"] for group in report["groups"]] == ["classify", "chat"]
    totals = report["totals"]
    assert totals["cost_usd"] == pytest.approx(0.005)  # r3, with an unpriced row, left out
    assert totals["baseline_cost_usd"] == pytest.approx(0.06)
    assert (totals["calls"], totals["attempts"], totals["unpriced"]) == (3, 5, 1)
    assert (totals["unpriced_calls"], totals["unpriced_calls_known_cost_usd"]) == (1, 0.002)
    assert totals["savings_pct"] == pytest.approx(100 * (0.06 - 0.005) / 0.06)
    assert totals["cache_hit_rate"] == pytest.approx(1 / 3)
    assert totals["escalation_rate"] == pytest.approx(1 / 3)
    assert (totals["replayed_input_tokens"], totals["replayed_output_tokens"]) == (100, 10)


def test_json_report_by_day_since(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "--ledger", ledger_url, "--by", "day", "--since", "2026-03-02", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert [group["key"] for group in report["groups"]] == ["2026-03-02"]
    assert report["totals"]["cost_usd"] is None  # r3 only: its judge has no price
    assert report["totals"]["unpriced_calls_known_cost_usd"] == pytest.approx(0.002)
    assert report["since"].startswith("2026-03-02")


def test_table_report(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--ledger", ledger_url, "--by", "model"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["model", "attempts", "tokens"]
    assert any(
        line.startswith("total*") and "0.005000" in line and "0.060000" in line for line in lines
    )
    assert "1 calls are left out of cost, reference and savings" in out
    assert "1 rows have no known price" in out
    # The cache hit's tokens are in the columns; the note says how many no provider billed.
    assert "Tokens include cache hits' 100 in and 10 out, replayed from the cache" in out


def test_missing_ledger_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert main(["report", "--ledger", f"sqlite:///{missing}", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no ledger at" in captured.err
    assert not missing.exists()


def test_a_failed_attempt_whose_call_failed_over_is_not_a_failed_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The note counts rows with an error: attempts, some of whose calls were answered."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    failing = ScriptedChatModel(model="gpt-4o-mini", answers=[ModelAPIError("HTTP 500")])
    router = RoutedChatModel(
        routes={"chat": [failing, ScriptedChatModel(model="gpt-4o")]},
        ledger=url,
        retry=RetryPolicy(max_retries=0),
        breakers=CircuitBreakers(),
    )
    assert router.invoke("hello").text == "ok"  # tier 0 failed, tier 1 answered
    router.ledger_store.close()
    assert main(["report", "--ledger", url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 rows are failed or cancelled provider attempts" in out
    assert "failed calls" not in out and "no cost recorded" not in out


def test_the_note_on_failed_attempts_does_not_call_a_billed_one_free(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A call cancelled while the provider answered is billed on its prompt (README), and
    its row carries that cost: the note said failed attempts cost "$0, unless part of an
    answer had been sent", which this one, 9 prompt tokens and no answer, contradicts."""
    cancelled = replace(
        sample_rows()[0],
        run_id="cancelled",
        input_tokens=9,
        output_tokens=0,
        cost_usd=Decimal("0.00000135"),
        baseline_cost_usd=Decimal(0),
        accepted=False,
        escalated=False,
        error="CancelledError",
        usage_estimated=True,
    )
    with open_ledger(ledger_url) as ledger:
        ledger.add([cancelled])
    assert main(["report", "--ledger", ledger_url, "--task", "classify"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 rows are failed or cancelled provider attempts" in out
    assert "$0, unless" not in out
    assert "a call cancelled or a stream cut is billed for its prompt and what it got" in out


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master")}


def test_a_database_without_a_ledger_is_an_error_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report reads: pointed at the wrong database (another app's, a typo in its name)
    it must say so, not create empty ledger tables there and report $0 of spend."""
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (id INTEGER)")
    assert main(["report", "--ledger", f"sqlite:///{other}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert "has no table costrouter_ledger" in captured.err and "--ledger" in captured.err
    assert _tables(other) == {"users"}


def test_a_ledger_with_a_table_prefix_is_read_with_table_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shared.db"
    with open_ledger(f"sqlite:///{path}", table_prefix="app1_") as ledger:
        ledger.add(sample_rows())
    assert main(["report", "--ledger", f"sqlite:///{path}", "--json"]) == 2
    assert "--table-prefix" in capsys.readouterr().err
    argv = ["report", "--ledger", f"sqlite:///{path}", "--table-prefix", "app1_", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["calls"] == 3
    assert not any(name.startswith("costrouter_") for name in _tables(path))


def test_an_empty_report_says_so_and_shows_no_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty ledger printed a table of dashes with 0.0% cache hits and escalations,
    rates of no calls, and nothing saying there were none."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    open_ledger(url).close()
    assert main(["report", "--ledger", url]) == 0
    out = capsys.readouterr().out
    assert "No calls: the ledger holds none that these filters keep." in out
    assert "0.0%" not in out
