"""The columns give the split, the matrices and the digest the parsed records give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.report import checked_split, records_digest
from langchain_costrouter.calibration.run import outcome_cost
from langchain_costrouter.calibration.table import (
    outcome_table,
    read_outcome_table,
    table_split,
    task_matrix,
)
from langchain_costrouter.errors import ConfigError, OutcomesFormatError
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord, read_outcomes, write_outcomes
from langchain_costrouter.replay import record_key
from tests.unit_tests.calibration.repeated import crossing, with_copies
from tests.unit_tests.cli.outcome_files import synthetic_records, write_file


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_file(tmp_path_factory.mktemp("table") / "evals.jsonl", size=120)


@pytest.mark.parametrize(("fraction", "seed"), [(0.5, 0), (0.3, 7)])
def test_split_and_matrices_equal_the_records(path: Path, fraction: float, seed: int) -> None:
    records = read_outcomes(path)
    table = read_outcome_table(path, outcome_cost(), show=False)
    train, test = checked_split(records, fraction, seed)
    train_rows, test_rows = table_split(table, fraction, seed)
    ids = table.arrays.question_ids
    assert [ids[i] for i in train_rows] == [r.id for r in train]
    assert [ids[i] for i in test_rows] == [r.id for r in test]
    expected = OutcomeMatrix.of(train, outcome_cost())
    matrix = task_matrix(table, train_rows)
    assert matrix.models == expected.models and matrix.size == expected.size
    assert np.array_equal(matrix.quality, expected.quality)
    assert np.array_equal(matrix.cost, expected.cost)
    assert matrix.query_texts() == expected.query_texts()
    for model in range(len(matrix.models)):
        assert matrix.answers(model) == expected.answers(model)
    assert table.digest() == records_digest(records)


def test_a_task_without_test_rows_is_refused_like_the_records(path: Path) -> None:
    table = read_outcome_table(path, outcome_cost(), show=False)
    with pytest.raises(ConfigError, match="train fraction must be in"):
        table_split(table, 1.0, 0)
    records = read_outcomes(path)[:2]  # one row per task
    tiny = outcome_table(records, outcome_cost())
    with pytest.raises(ConfigError, match="no --train-fraction splits a single prompt") as columns:
        table_split(tiny, 0.9, 0)
    with pytest.raises(ConfigError) as parsed:
        checked_split(records, 0.9, 0)
    assert str(columns.value) == str(parsed.value)
    assert "task 'sentiment' has 1 record (1 prompt)" in str(columns.value)
    assert "task 'triage' has 1 record (1 prompt)" in str(columns.value)


def test_an_outcome_without_a_cost_names_its_file_line_and_record(tmp_path: Path) -> None:
    def record(n: int, outcome: ModelOutcome) -> OutcomeRecord:
        messages = ({"role": "user", "content": f"q{n}"},)
        return OutcomeRecord(id=f"r{n}", task="qa", messages=messages, outcomes={"m": outcome})

    path = tmp_path / "nocost.jsonl"
    good = ModelOutcome(score=1.0, text="a", cost_usd=0.01)
    write_outcomes(path, [record(0, good), record(1, good), record(2, ModelOutcome(score=1.0))])
    with pytest.raises(OutcomesFormatError, match="record 'r2': model 'm' has") as caught:
        read_outcome_table(path, outcome_cost(), show=False)
    assert (caught.value.path, caught.value.line) == (str(path), 3)


def test_the_columns_keep_copies_of_a_prompt_together_as_the_records_do(tmp_path: Path) -> None:
    path = tmp_path / "repeated.jsonl"
    write_outcomes(path, with_copies(synthetic_records(150)))
    records = read_outcomes(path)
    table = read_outcome_table(path, outcome_cost(), show=False)
    train, test = checked_split(records, 0.5, 0)
    train_rows, test_rows = table_split(table, 0.5, 0)
    ids = table.arrays.question_ids
    assert [ids[i] for i in train_rows] == [r.id for r in train]
    assert [ids[i] for i in test_rows] == [r.id for r in test]
    assert not crossing(train, test)
    matrix, expected = task_matrix(table, train_rows), OutcomeMatrix.of(train, outcome_cost())
    assert matrix.prompt_keys() == expected.prompt_keys() == [record_key(r) for r in train]
    folds = StageScores.of(matrix, 5, 0).folds
    assert np.array_equal(folds, StageScores.of(expected, 5, 0).folds)
