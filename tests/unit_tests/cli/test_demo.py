"""``costrouter demo``: calibrate and route the bundled sample with no key and no network."""

from __future__ import annotations

import json
import os
import re
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from tests.unit_tests.cli.report_figures import main_table

TOTAL = re.compile(r"^total\s+(.+)$", re.MULTILINE)


def test_demo_prints_a_saving_then_a_fully_cached_second_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    first, second = (line.split() for line in TOTAL.findall(out))
    # pass 1: calls quality strongest-q cost strongest-$ saving escalated
    assert float(first[5].rstrip("%")) > 0
    assert float(first[1]) <= 1.0
    # pass 2: calls cache-hits cost strongest-$ saving
    assert second[1] == "100.0%"
    assert float(second[2]) == 0.0
    assert "api_key_env" in out
    assert '[router] policy = "policy.json"' in out


def test_demo_files_are_private_and_each_run_starts_cold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    folder = tmp_path / "data" / "demo"  # its parent is new too
    old_umask = os.umask(0)  # the loosest a process may run with
    try:
        for _ in range(2):
            assert main(["demo", "--dir", str(folder), "--json"]) == 0
            runs.append(json.loads(capsys.readouterr().out))
    finally:
        os.umask(old_umask)
    assert runs[0]["first_pass"] == runs[1]["first_pass"]
    assert runs[1]["first_pass"]["total"]["cache_hit_rate"] == 0.0
    assert runs[1]["second_pass"]["total"]["cache_hit_rate"] == 1.0
    assert runs[1]["first_pass"]["total"]["savings_pct"] > 0
    for name in ("ledger.sqlite3", "policy.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    loose = {
        str(p): oct(p.stat().st_mode) for p in folder.parent.rglob("*") if p.stat().st_mode & 0o077
    }
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and not loose, loose


def test_each_run_writes_a_fresh_ledger_that_the_report_agrees_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for _ in range(2):
        assert main(["demo", "--dir", str(tmp_path / "demo"), "--json"]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    shown = runs[1]["ledger_totals"]
    assert shown == runs[0]["ledger_totals"]
    assert shown["calls"] == 2 * runs[1]["records"]["test"]  # this run's two passes only
    assert main(["report", "--ledger", runs[1]["ledger"], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["totals"]
    assert report["calls"] == shown["calls"]
    assert report["cost_usd"] == pytest.approx(shown["cost_usd"], abs=0)
    assert report["baseline_cost_usd"] == pytest.approx(shown["baseline_cost_usd"], abs=0)
    assert report["savings_pct"] == shown["savings_pct"]
    levers = {
        k.removeprefix("saved_").removesuffix("_usd"): v
        for k, v in report.items()
        if k.startswith("saved_")
    }
    assert levers == shown["savings_usd"]
    assert sum(levers.values()) == pytest.approx(report["savings_usd"], abs=1e-12)


def test_the_demo_tables_reference_column_is_the_reports_baseline_per_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--json"]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert main(["report", "--ledger", demo["ledger"], "--json"]) == 0
    groups = {g["key"]: g for g in json.loads(capsys.readouterr().out)["groups"]}
    for task, group in groups.items():
        passes = [demo["first_pass"][task], demo["second_pass"][task]]
        for name in ("reference_cost_usd", "cost_usd"):  # exact: the ledger's own dollars
            assert sum(_exact(p[name]) for p in passes) == _exact(
                group[name.replace("reference", "baseline")]
            ), name
    for name in ("reference_cost_usd", "cost_usd"):  # the tasks add up to the total
        for figures in (demo["first_pass"], demo["second_pass"]):
            tasks = [_exact(f[name]) for key, f in figures.items() if key != "total"]
            assert sum(tasks) == _exact(figures["total"][name]), name


def _exact(amount: float) -> Decimal:
    """A JSON dollar figure as the exact decimal it stands for (its shortest repr)."""
    return Decimal(repr(amount))


def test_the_demo_tables_add_up_and_show_the_ledgers_dollars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert main(["report", "--ledger", f"sqlite:///{tmp_path / 'demo' / 'ledger.sqlite3'}"]) == 0
    report = main_table(capsys.readouterr().out.splitlines())
    blocks = [block.splitlines() for block in out.split("\n\n") if block.startswith("Pass ")]
    tables = [_pass_table(block) for block in blocks]
    for table in tables:
        for column in ("cost $", "reference $"):
            shown = [Decimal(cells[column]) for key, cells in table.items() if key != "total"]
            assert sum(shown) == Decimal(table["total"][column])
    for task in ("chat", "math"):  # pass 1 plus pass 2 is the task's line in the report
        cost = sum(Decimal(table[task]["cost $"]) for table in tables)
        reference = sum(Decimal(table[task]["reference $"]) for table in tables)
        assert (cost, reference) == (Decimal(report[task][3]), Decimal(report[task][4]))
    ledger_line = next(line for line in out.splitlines() if "both passes:" in line)
    total = report["total"]
    assert f"${total[3]} against a ${total[4]} baseline" in ledger_line


def _pass_table(block: list[str]) -> dict[str, dict[str, str]]:
    """A pass's table: each task's (and the total's) cells by column title."""
    header = next(line for line in block if line.startswith("task"))
    titles = re.split(r"\s{2,}", header.strip())
    lines = block[block.index(header) + 1 :]
    rows = [line.split() for line in lines if not line.startswith("-")]
    return {cells[0]: dict(zip(titles[1:], cells[1:], strict=True)) for cells in rows}


def test_the_readme_shows_what_the_demo_and_its_report_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's figures are the product's: its demo and report blocks, line by line."""
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    demo = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(demo) if line.startswith("Pass 1"))
    end = next(i for i, line in enumerate(demo) if "both passes:" in line)
    assert main(["report", "--ledger", f"sqlite:///{tmp_path / 'demo' / 'ledger.sqlite3'}"]) == 0
    report = capsys.readouterr().out.splitlines()
    missing = [
        line
        for line in [*demo[start : end + 1], *report]
        if line
        and not line.startswith(("Ledger (this run only)", "  the same figures"))
        and line not in readme
    ]
    assert not missing
