"""``costrouter report`` filters (time range, namespace, task, purpose) and CSV output."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import LedgerRow, open_ledger

NOW = datetime.now(UTC)


def _row(run: str, *, task: str, namespace: str, days_ago: int, purpose: str) -> LedgerRow:
    return LedgerRow(
        time=NOW - timedelta(days=days_ago),
        run_id=run,
        model="gpt-4o-mini",
        task=task,
        namespace=namespace,
        cost_usd=Decimal("0.001"),
        baseline_cost_usd=Decimal("0.004"),
        purpose=purpose,
        saved_routing_usd=Decimal("0.003"),
        saved_cascade_usd=Decimal(0),
        saved_cache_usd=Decimal(0),
        saved_compression_usd=Decimal(0),
        saved_batching_usd=Decimal(0),
    )


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    rows = [
        _row("a", task="chat", namespace="acme", days_ago=0, purpose="production"),
        _row("b", task="chat", namespace="globex", days_ago=0, purpose="production"),
        _row("c", task="code", namespace="acme", days_ago=10, purpose="production"),
        _row("d", task="chat", namespace="acme", days_ago=0, purpose="eval"),
    ]
    with open_ledger(url) as ledger:
        ledger.add(rows)
    return url


def _totals(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> dict[str, object]:
    assert main(["report", "--ledger", url, "--json", *args]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert isinstance(totals, dict)
    return totals


@pytest.mark.parametrize(
    ("args", "calls"),
    [
        ((), 4),
        (("--namespace", "acme"), 3),
        (("--task", "code"), 1),
        (("--purpose", "eval"), 1),
        (("--since", "7d"), 3),
        (("--until", (NOW - timedelta(days=5)).date().isoformat()), 1),
        (("--namespace", "acme", "--purpose", "production", "--since", "1d"), 1),
    ],
)
def test_filters_keep_only_matching_calls(
    capsys: pytest.CaptureFixture[str], ledger_url: str, args: tuple[str, ...], calls: int
) -> None:
    totals = _totals(capsys, ledger_url, *args)
    assert totals["calls"] == calls
    assert totals["savings_usd"] == pytest.approx(0.003 * calls)


def test_csv_has_a_line_per_group_and_exact_dollars(
    capsys: pytest.CaptureFixture[str], ledger_url: str
) -> None:
    assert main(["report", "--ledger", ledger_url, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["task"] for row in rows] == ["chat", "code", "total"]
    total = rows[-1]
    assert Decimal(total["cost_usd"]) == Decimal("0.004")
    assert Decimal(total["savings_usd"]) == Decimal("0.012")
    assert Decimal(total["saved_routing_usd"]) == Decimal("0.012")


def test_json_and_csv_are_exclusive(ledger_url: str) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["report", "--ledger", ledger_url, "--json", "--csv"])
    assert raised.value.code == 2


def test_html_page_is_self_contained_with_three_plots(
    capsys: pytest.CaptureFixture[str], ledger_url: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    assert main(["report", "--ledger", ledger_url, "--html", str(page)]) == 0
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 3
    for fetch in ("<script", "<link", 'src="http', 'href="http', "url(http"):
        assert fetch not in text  # nothing loaded from elsewhere: the page works offline
    assert "4 calls; cost $0.004000 against a baseline of $0.016000; saved 75.0%" in text
    for caption in ("per day", "by lever", "cache-hit rate per task"):
        assert caption in text


def test_html_into_a_missing_directory_fails_before_reading(ledger_url: str) -> None:
    assert main(["report", "--ledger", ledger_url, "--html", "/no/such/dir/r.html"]) == 2


def test_html_over_the_ledger_itself_is_refused_and_the_ledger_kept(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--html`` naming the SQLite file the report reads wrote the page over the ledger:
    every later report said 'database disk image is malformed'."""
    database = Path(ledger_url.removeprefix("sqlite:///"))
    before = database.read_bytes()
    assert main(["report", "--ledger", ledger_url, "--html", str(database)]) == 2
    assert "is the ledger file; give another" in capsys.readouterr().err
    assert database.read_bytes() == before
    assert main(["report", "--ledger", ledger_url, "--json"]) == 0
