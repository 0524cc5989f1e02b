"""Cell tables: closed-form paired sums equal a per-row replay; the choice rule's semantics."""

from __future__ import annotations

import numpy as np

from langchain_costrouter.calibration.cells import cell_table
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.grid import cascade_grid, paired_grid, served
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from tests.unit_tests.calibration.conftest import synthetic_records


def _three_models(size: int) -> OutcomeMatrix:
    """The synthetic set plus a middle model right on half of the hard questions."""
    records = []
    for index, record in enumerate(synthetic_records(size)):
        middle = float(record.outcomes["cheap"].score == 1.0 or index % 2 == 0)
        answer = record.reference if middle else "Maybe"
        outcomes = {**record.outcomes, "middle": ModelOutcome(middle, answer, cost_usd=0.005)}
        records.append(
            OutcomeRecord(
                id=record.id,
                task=record.task,
                messages=record.messages,
                reference=record.reference,
                outcomes=outcomes,
            )
        )
    return OutcomeMatrix.of(records)


def test_paired_sums_equal_a_row_by_row_replay_of_every_cell() -> None:
    matrix = _three_models(200)
    scores = StageScores.of(matrix, 5, 0)
    rows = np.arange(0, 200, 2)
    reference = matrix.quality[:, 2]
    for tiers in [(0, 2), (0, 1, 2)]:
        table = cell_table(matrix, scores, SearchOptions(grid_size=8), rows, 2)
        rules, sums, cost = paired_grid(matrix, scores, tiers, 8, rows, reference)
        _, quality, legacy_cost = cascade_grid(matrix, scores, tiers, 8, rows)
        assert np.allclose(quality, sums[:, 0]) and np.allclose(legacy_cost, cost)
        offset = next(o for t, _, o in table.blocks if t == tiers)
        for index in range(0, len(rules), 7):
            candidate = table.candidate(offset + index)
            assert candidate.rules == rules[index]
            served_quality, served_cost = served(matrix, scores, candidate, rows)
            expected = [
                served_quality.sum(),
                (served_quality * reference[rows]).sum(),
                (served_quality**2).sum(),
            ]
            assert np.allclose(expected, sums[index])
            assert np.isclose(served_cost.sum(), cost[index])
            loss = reference[rows] - served_quality
            assert np.isclose(table.loss[offset + index], loss.mean())
            assert np.isclose(table.error[offset + index], loss.std(ddof=1) / np.sqrt(len(rows)))


def test_cheapest_within_needs_more_room_for_a_noisier_cell() -> None:
    matrix = _three_models(300)
    scores = StageScores.of(matrix, 5, 0)
    rows = np.arange(300)
    table = cell_table(matrix, scores, SearchOptions(grid_size=8), rows, 2)
    budget = float(matrix.cost[:, 2].sum())
    bold = table.cheapest_within(0.05, 0.0, budget)
    cautious = table.cheapest_within(0.05, 3.0, budget)
    assert bold is not None and cautious is not None
    assert bold.cost <= cautious.cost
    assert table.cheapest_within(0.05, 3.0, 0.0) is None
    assert table.cheapest_within(-1.0, 0.0, budget) is None
