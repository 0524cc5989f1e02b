"""The column path of ``costrouter calibrate`` prints exactly what the record path printed.

The record-by-record path (parse every record, `search.calibrate`, then every test
record through `RoutedChatModel` with `run.run_records`) is the reference: on the
shared recorded data sets and on a synthetic file, for both search methods, the CLI's
JSON (policy, promises, routed, baseline and oracle figures) must be equal, key by key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.calibration import SearchOptions, calibrate
from langchain_costrouter.calibration.report import checked_split, with_split
from langchain_costrouter.calibration.run import outcome_cost
from langchain_costrouter.calibration.scaled import evaluate_table
from langchain_costrouter.calibration.table import read_outcome_table, table_split
from langchain_costrouter.cli import main
from langchain_costrouter.cli.calibrate import evaluate_policy
from langchain_costrouter.outcomes import read_outcomes, write_outcomes
from tests.unit_tests.calibration.conftest import CalibrateOnce
from tests.unit_tests.calibration.repeated import with_copies
from tests.unit_tests.cli.outcome_files import synthetic_records, write_file

DATA = Path.home() / ".cache" / "langchain-costrouter" / "data"
SHARED = ("mt_bench", "gsm8k", "overruling")
"""Small enough for the suite; mmlu (14k rows) gave the same JSON too (issue 19's note)."""


def record_path(path: Path, method: str) -> dict[str, Any]:
    """What ``calibrate --json`` printed before the column path, computed the old way."""
    records = read_outcomes(path)
    train, test = checked_split(records, 0.5, 0)
    cost_of = outcome_cost()
    policy = calibrate(train, SearchOptions(method=method, seed=0), cost_of)
    policy = with_split(policy, records, 0.5, 0)
    report = evaluate_policy(policy, records, (train, test), cost_of, None)
    return dict(json.loads(json.dumps(report)))


def column_path(path: Path, method: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["calibrate", str(path), "--method", method, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("method", ["legacy", "guarded"])
def test_synthetic_file_gives_the_same_figures(
    method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "evals.jsonl", size=400)
    expected = record_path(path, method)
    assert column_path(path, method, capsys) == expected
    assert expected["test"]["calls_by_model"]  # a real run was compared


def test_a_file_that_repeats_prompts_gives_the_same_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "repeated.jsonl"
    write_outcomes(path, with_copies(synthetic_records(400)))
    expected = record_path(path, "guarded")
    assert column_path(path, "guarded", capsys) == expected


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared outcomes not found at {DATA}")
@pytest.mark.parametrize("method", ["legacy", "guarded"])
@pytest.mark.parametrize("name", SHARED)
def test_shared_data_gives_the_same_figures(
    name: str, method: str, calibrate_once: CalibrateOnce
) -> None:
    """One search (the columns' matrices equal the records', test_table.py), two replays.

    The search is `calibrate`'s, shared with test_overruling_quality_bar.py (conftest.py).
    """
    path = DATA / f"{name}.jsonl"
    records = read_outcomes(path)
    train, test = checked_split(records, 0.5, 0)
    cost_of = outcome_cost()
    policy = calibrate_once(train, SearchOptions(method=method, seed=0), cost_of)
    policy = with_split(policy, records, 0.5, 0)
    table = read_outcome_table(path, cost_of, show=False)
    split = table_split(table, 0.5, 0)
    assert table.digest() == policy.meta["split"]["records"]
    old = evaluate_policy(policy, records, (train, test), cost_of, None)
    new = evaluate_table(policy, table, split, path, seed=0, show=False)
    assert new == old
    assert (new["train_size"], new["test_size"]) == (len(train), len(test))
