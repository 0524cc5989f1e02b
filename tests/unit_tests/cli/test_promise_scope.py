"""A promise is for questions like the ones it was learned from, and says so where it is printed.

Calibrated on GSM8K (GPT-4 kept, "expected quality 0.8624 [0.8359, 0.8889]") and replayed
on MMLU with the same two models, the policy scored 0.8059: far under its promise, and
neither calibrate's output, the policy file nor replay's output said the promise was
only for data like its train rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from tests.unit_tests.cli.outcome_files import write_file

SCOPE = "for questions drawn as its {} train rows were, not other data"


def test_calibrate_prints_and_stores_the_promise_s_scope_and_lower_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, policy_path = write_file(tmp_path / "evals.jsonl"), tmp_path / "policy.json"
    assert main(["calibrate", str(outcomes), "--out", str(policy_path)]) == 0
    printed = capsys.readouterr().out
    for spec in json.loads(policy_path.read_text())["tasks"].values():
        train = spec["train"]
        assert train["scope"] == SCOPE.format(train["size"])
        assert f"quality >= {train['quality_lower_bound']:.4f}" in printed
        assert SCOPE.format(train["size"]) in printed


def test_replay_on_other_records_says_the_promise_was_not_made_for_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, policy_path = write_file(tmp_path / "evals.jsonl"), tmp_path / "policy.json"
    assert main(["calibrate", str(outcomes), "--out", str(policy_path)]) == 0
    other = write_file(tmp_path / "other.jsonl", seed=7, prefix="other")
    capsys.readouterr()
    assert main(["replay", str(outcomes), "--policy", str(policy_path)]) == 0
    assert "not the records" not in capsys.readouterr().out
    assert main(["replay", str(other), "--policy", str(policy_path)]) == 0
    printed = capsys.readouterr().out
    assert "not the records the policy was calibrated on" in printed
