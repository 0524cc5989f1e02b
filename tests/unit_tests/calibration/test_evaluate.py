"""The train/test split: stratified by task, and copies of one prompt on one side."""

from __future__ import annotations

from dataclasses import replace

import pytest

from langchain_costrouter.calibration.evaluate import split_records
from tests.unit_tests.calibration.repeated import crossing, row_split, with_copies
from tests.unit_tests.cli.outcome_files import TASKS, synthetic_records


@pytest.mark.parametrize("seed", range(4))
def test_copies_of_a_prompt_stay_on_one_side_of_the_split(seed: int) -> None:
    records = with_copies(synthetic_records(200), seed=seed)
    train, test = split_records(records, 0.5, seed)
    assert not crossing(train, test)
    assert sorted(r.id for r in train + test) == sorted(r.id for r in records)
    for task in TASKS:
        size = sum(r.task == task for r in records)
        # Within the largest prompt group (three rows) of half the task's rows.
        assert abs(sum(r.task == task for r in train) - size / 2) <= 3


@pytest.mark.parametrize(("fraction", "seed"), [(0.5, 0), (0.3, 7), (0.8, 2), (0.5, 11)])
def test_distinct_prompts_are_split_exactly_as_rows_were(fraction: float, seed: int) -> None:
    records = synthetic_records(161)
    train, test = split_records(records, fraction, seed)
    assert ([r.id for r in train], [r.id for r in test]) == row_split(records, fraction, seed)


def test_two_prompts_asked_five_times_each_go_one_to_each_side() -> None:
    first, second = synthetic_records(2)
    records = [replace(r, id=f"{r.id}-{n}", task="qa") for n in range(5) for r in (first, second)]
    train, test = split_records(records, 0.5, 0)
    assert len(train) == len(test) == 5
    assert not crossing(train, test)
