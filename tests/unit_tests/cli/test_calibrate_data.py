"""``costrouter calibrate`` on outcomes files shaped unlike the ones it was built on.

Each file here is one a user may bring: a task of one question, costs too small for
the ledger to hold. Every run must give a sound policy or a typed error that says what
is wrong with the data and what to do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.outcomes import OutcomeRecord, read_outcomes, write_outcomes
from tests.unit_tests.cli.outcome_files import synthetic_records


def _relabelled(records: list[OutcomeRecord], labels: dict[int, str]) -> list[OutcomeRecord]:
    """``records`` with the task labels of the rows at the given positions replaced."""
    return [
        OutcomeRecord(r.id, labels.get(i, r.task), r.messages, r.outcomes, r.reference)
        for i, r in enumerate(records)
    ]


def test_every_task_of_one_prompt_is_named_at_once_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --train-fraction splits one prompt, so advising one sent users round in circles,
    one task per run."""
    path = tmp_path / "lonely.jsonl"
    write_outcomes(path, _relabelled(synthetic_records(200), {3: "lonely", 8: "alone"}))
    assert main(["calibrate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "task 'alone' has 1 record (1 prompt)" in err
    assert "task 'lonely' has 1 record (1 prompt)" in err
    assert "no --train-fraction splits a single prompt" in err
    assert "record more questions for it, or give its records another task's label" in err
    assert "Traceback" not in err


def test_a_task_of_one_prompt_asked_twice_cannot_be_split_either(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = synthetic_records(200)
    twin = OutcomeRecord("twin", "pair", records[5].messages, records[5].outcomes)
    path = tmp_path / "pair.jsonl"
    write_outcomes(path, [*_relabelled(records, {5: "pair"}), twin])
    assert main(["calibrate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "task 'pair' has 2 records (1 prompt)" in err
    assert "no --train-fraction splits a single prompt" in err


def test_a_fraction_that_empties_a_side_still_says_to_change_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "two.jsonl"
    write_outcomes(path, _relabelled(synthetic_records(200), {3: "pair", 5: "pair"}))
    assert main(["calibrate", str(path), "--train-fraction", "0.9"]) == 2
    err = capsys.readouterr().err
    assert "task 'pair' has 2 records (2 prompts)" in err
    assert "change --train-fraction" in err
    assert read_outcomes(path)  # the file itself is sound
