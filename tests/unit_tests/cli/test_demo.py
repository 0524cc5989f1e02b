"""``costrouter demo``: calibrate and route the bundled sample with no key and no network."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from langchain_costrouter.cli import main

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
        assert sum(p["reference_cost_usd"] for p in passes) == pytest.approx(
            group["baseline_cost_usd"], abs=2e-6
        )  # the demo rounds to the micro-dollar
        assert sum(p["cost_usd"] for p in passes) == pytest.approx(group["cost_usd"], abs=2e-6)
