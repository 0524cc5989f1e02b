"""Progress bars go to stderr, only when asked or on a terminal, never into ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_costrouter.calibration.progress import bar, tracked
from langchain_costrouter.cli import main
from tests.unit_tests.cli.outcome_files import write_file


def test_progress_flag_draws_every_phase_on_stderr_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "evals.jsonl", size=160)
    assert main(["calibrate", str(path), "--json", "--progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["test_size"] == 80  # stdout is the one JSON object
    for phase in ("load", "search", "replay", "check"):
        assert f"{phase}:" in captured.err


def test_no_bar_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "evals.jsonl", size=160)
    assert main(["calibrate", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out)["train_size"] == 80


def test_tracked_passes_items_through_and_counts_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(tracked(iter("abc"), 3, "letters", "x", show=True)) == ["a", "b", "c"]
    assert "letters: 100%" in capsys.readouterr().err
    with bar(2, "hidden", "x", show=False) as hidden:
        hidden.update(2)
    assert capsys.readouterr().err == ""
