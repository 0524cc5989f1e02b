"""``costrouter replay``: a saved policy's figures, on its own test split or on new records."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from tests.unit_tests.cli.outcome_files import write_file, write_lines


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """(outcomes file, policy file, the calibrate report)."""
    folder = tmp_path_factory.mktemp("replay")
    outcomes, policy = write_file(folder / "evals.jsonl"), folder / "policy.json"
    stdout = io.StringIO()  # capsys is per test; this fixture is per module
    with contextlib.redirect_stdout(stdout):
        assert main(["calibrate", str(outcomes), "--out", str(policy), "--json"]) == 0
    return outcomes, policy, json.loads(stdout.getvalue())


def test_replay_on_the_calibration_file_reproduces_calibrate(
    calibrated: tuple[Path, Path, dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, policy, calibrate_report = calibrated
    assert main(["replay", str(outcomes), "--policy", str(policy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evaluated_on"] == "test split"
    for key in ("train_size", "test_size", "test", "baseline", "oracle", "savings_pct"):
        assert report[key] == calibrate_report[key], key


def test_replay_on_new_records_evaluates_all_of_them(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, policy, _ = calibrated
    fresh = write_file(tmp_path / "fresh.jsonl", size=60, seed=7, prefix="new")
    assert main(["replay", str(fresh), "--policy", str(policy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evaluated_on"] == "all records"
    assert (report["train_size"], report["test_size"]) == (0, 60)
    assert sum(report["test"]["calls_by_model"].values()) >= 60
    assert report["test"]["quality"] <= report["oracle"]["quality"]


def test_replay_prints_a_table(
    calibrated: tuple[Path, Path, dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, policy, _ = calibrated
    assert main(["replay", str(outcomes), "--policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "routed (policy)" in out
    assert str(policy) in out


def test_a_task_the_policy_lacks_is_a_clear_error(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, policy, _ = calibrated
    line = json.loads(write_file(tmp_path / "one.jsonl", size=1).read_text())
    other = write_lines(tmp_path / "other.jsonl", [{**line, "task": "translation"}])
    assert main(["replay", str(other), "--policy", str(policy), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no cascade for task labels ['translation']" in captured.err


def test_a_broken_policy_file_is_a_clear_error(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes, _, _ = calibrated
    broken = tmp_path / "policy.json"
    broken.write_text('{"kind": "something-else"}')
    assert main(["replay", str(outcomes), "--policy", str(broken)]) == 2
    assert "not a costrouter policy" in capsys.readouterr().err


def test_an_outcome_without_a_cost_names_its_line(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes, policy, _ = calibrated
    good = json.loads(outcomes.read_text().splitlines()[0])
    bare = {**good, "id": "x2", "outcomes": {m: {"score": 1.0} for m in good["outcomes"]}}
    path = write_lines(tmp_path / "bare.jsonl", [good, bare])
    assert main(["replay", str(path), "--policy", str(policy)]) == 2
    assert f"{path}:2: record 'x2': model " in capsys.readouterr().err
