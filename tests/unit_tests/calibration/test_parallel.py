"""Scorer fits in worker processes give the policy one process gives, bit for bit."""

from __future__ import annotations

import os

import numpy as np
import pytest

from langchain_costrouter.calibration import SearchOptions, calibrate
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.parallel import PARALLEL_ROWS, default_workers, prefit
from langchain_costrouter.calibration.policy_routes import policy_digest
from langchain_costrouter.errors import ConfigError
from tests.unit_tests.cli.outcome_files import synthetic_records


@pytest.mark.parametrize("method", ["legacy", "guarded"])
def test_workers_do_not_change_the_policy(method: str) -> None:
    records = synthetic_records(300)
    alone = calibrate(records, SearchOptions(method=method, seed=0))
    shared = calibrate(records, SearchOptions(method=method, seed=0, workers=2))
    assert policy_digest(shared) == policy_digest(alone)
    assert shared.tasks == alone.tasks


def test_prefit_keeps_the_fits_a_worker_made() -> None:
    matrix = OutcomeMatrix.of([r for r in synthetic_records(200) if r.task == "sentiment"])
    forked, alone = StageScores.of(matrix, 5, 0), StageScores.of(matrix, 5, 0)
    prefit(forked, [0, 1], workers=2)
    assert forked.has_fit(0) and forked.has_fit(1) and not forked.has_fit(2)
    for model in (0, 1):
        assert np.array_equal(forked.text_logits(model), alone.text_logits(model))


def test_workers_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        SearchOptions(workers=0)


def test_by_default_only_large_tasks_fork_and_never_more_than_four() -> None:
    assert SearchOptions().workers is None
    assert default_workers(PARALLEL_ROWS - 1, 3) == 1
    usable = len(os.sched_getaffinity(0))
    expected = 1 if usable < 2 else 3  # one process per model, more than the CPUs or not
    assert default_workers(PARALLEL_ROWS, 3) == expected
    assert default_workers(PARALLEL_ROWS, 7) == (1 if usable < 2 else 4)
