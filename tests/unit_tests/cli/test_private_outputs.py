"""Files the CLI writes are private to the user (0600), as the ledger and cache are.

A report page holds per-task spend, a policy the tasks, models and what they cost: both
were written with the process umask (0644 under the usual 022) and an existing file
kept its mode, so other users of the machine could read them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.calibration import load_policy
from langchain_costrouter.cli import main
from langchain_costrouter.ledger import LedgerRow, open_ledger
from tests.unit_tests.cli.outcome_files import write_file


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    row = LedgerRow(
        time=datetime.now(UTC),
        run_id="a",
        model="gpt-4o-mini",
        task="chat",
        cost_usd=Decimal("0.001"),
        baseline_cost_usd=Decimal("0.004"),
    )
    with open_ledger(url) as ledger:
        ledger.add([row])
    return url


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing 0644"])
def test_report_html_is_private(
    existing: bool, ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    if existing:
        page.write_text("an older report")
        page.chmod(0o644)
    assert main(["report", "--ledger", ledger_url, "--html", str(page)]) == 0
    capsys.readouterr()
    assert _mode(page) == 0o600
    assert "<svg" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing 0644"])
def test_calibrate_out_is_private(
    existing: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = write_file(tmp_path / "evals.jsonl")
    policy = tmp_path / "policy.json"
    if existing:
        policy.write_text("{}")
        policy.chmod(0o644)
    assert main(["calibrate", str(outcomes), "--out", str(policy), "--json"]) == 0
    capsys.readouterr()
    assert _mode(policy) == 0o600
    assert load_policy(policy).tasks
