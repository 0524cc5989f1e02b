"""Outcomes streamed into compact arrays agree with the parsed records, row for row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.calibration.arrays import (
    batches,
    outcome_arrays,
    read_costed_outcomes,
    read_outcome_arrays,
    rows_at,
)
from langchain_costrouter.calibration.run import outcome_cost
from langchain_costrouter.errors import ConfigError, OutcomesFormatError
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord, read_outcomes, write_outcomes


def _record(n: int) -> OutcomeRecord:
    return OutcomeRecord(
        id=f"q{n}",
        task=("qa", "math", "code")[n % 3],
        messages=({"role": "user", "content": f"question {n} " * 20},),
        outcomes={
            "small": ModelOutcome(score=(n % 2) * 1.0, text=f"s{n}", cost_usd=0.001 * n),
            "gpt-4o": ModelOutcome(score=0.75, text=f"b{n}", input_tokens=100, output_tokens=n),
        },
    )


@pytest.fixture
def outcomes_file(tmp_path: Path) -> Path:
    path = tmp_path / "outcomes.jsonl"
    write_outcomes(path, [_record(n) for n in range(50)])
    return path


def test_arrays_match_records(outcomes_file: Path) -> None:
    cost_of = outcome_cost()
    arrays = read_outcome_arrays(outcomes_file, cost_of)
    records = read_outcomes(outcomes_file)
    assert len(arrays) == 50 and arrays.models == ("gpt-4o", "small")
    assert arrays.tasks == ("qa", "math", "code")
    assert arrays.scores.dtype == np.float64 and arrays.costs.dtype == np.float64
    for i, record in enumerate(records):
        assert arrays.question_ids[i] == record.id
        assert arrays.tasks[arrays.task_codes[i]] == record.task
        for column, model in enumerate(arrays.models):
            outcome = record.outcomes[model]
            assert arrays.scores[i, column] == outcome.score
            assert arrays.costs[i, column] == cost_of(model, outcome)
    assert list(arrays.task_rows("math")) == list(range(1, 50, 3))


def test_arrays_are_compact(outcomes_file: Path) -> None:
    arrays = read_outcome_arrays(outcomes_file, outcome_cost())
    assert arrays.scores.nbytes + arrays.costs.nbytes + arrays.task_codes.nbytes == 50 * 34


def test_rows_at_reads_only_the_sample(outcomes_file: Path) -> None:
    assert [record.id for record in rows_at(outcomes_file, [40, 3, 7])] == ["q3", "q7", "q40"]


def test_batches_are_bounded() -> None:
    assert [list(b) for b in batches(range(7), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="at least 1"):
        next(batches(range(3), 0))


def test_no_records_is_an_error() -> None:
    with pytest.raises(OutcomesFormatError, match="no records"):
        outcome_arrays([], outcome_cost())


def test_unpriced_outcome_keeps_the_cost_error() -> None:
    record = OutcomeRecord(id="q", task="t", messages=(), outcomes={"m": ModelOutcome(score=1.0)})
    with pytest.raises(ConfigError, match="cost_usd"):
        outcome_arrays([record], outcome_cost())


def test_rows_at_splits_lines_as_the_reader_does(tmp_path: Path) -> None:
    path = tmp_path / "cr.jsonl"
    write_outcomes(path, [_record(n) for n in range(4)])
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"task":', b'\r"task":')  # a bare CR between JSON tokens
    path.write_bytes(b"\n".join(lines))
    assert [record.id for record in read_outcomes(path)] == ["q0", "q1", "q2", "q3"]
    assert [record.id for record in rows_at(path, [1, 2, 3])] == ["q1", "q2", "q3"]


def test_a_cost_error_names_the_line_and_record(tmp_path: Path) -> None:
    path = tmp_path / "unpriced.jsonl"
    unpriced = OutcomeRecord(
        id="q9", task="qa", messages=({"role": "user", "content": "?"},),
        outcomes={
            "small": ModelOutcome(score=1.0, text="s", input_tokens=3, output_tokens=1),
            "gpt-4o": ModelOutcome(score=1.0, text="b", cost_usd=0.5),
        },
    )  # fmt: skip
    write_outcomes(path, [_record(1), _record(2), unpriced])
    for read in (read_outcome_arrays, read_costed_outcomes):
        with pytest.raises(
            OutcomesFormatError, match="record 'q9': model 'small' has token"
        ) as caught:
            read(path, outcome_cost())
        assert caught.value.line == 3
