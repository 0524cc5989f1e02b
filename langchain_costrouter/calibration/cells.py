"""Every candidate cascade of a task on some rows, with its paired loss against a reference.

The guarded search (`guarded`) needs more than each cell's quality: a cell that serves
the reference model's answers on most questions differs from it on few, so the same
mean loss is far better established than for a cell that disagrees often. A
`CellTable` therefore holds, for every cell of every cascade (single models included),
the cost, the mean paired loss ``reference - served`` and its standard error, all
from the closed-form sums of `grid.paired_grid` (no per-row pass over the cells).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.grid import Candidate, Rules, paired_grid
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.options import SearchOptions


@dataclass(frozen=True)
class CellTable:
    """Flat arrays over all cells of a task on ``size`` rows; ``blocks`` maps back to cascades.

    ``blocks`` holds, per cascade, its tiers, the rules of its cells and the offset of
    its first cell in the arrays.
    """

    blocks: tuple[tuple[tuple[int, ...], list[Rules], int], ...]
    size: int
    quality: FloatArray
    cost: FloatArray
    loss: FloatArray
    error: FloatArray
    depth: FloatArray

    def candidate(self, index: int) -> Candidate:
        """The cascade and rules of cell ``index``, with its figures on the table's rows."""
        tiers, rules, offset = next(b for b in reversed(self.blocks) if b[2] <= index)
        quality, cost = float(self.quality[index]), float(self.cost[index])
        return Candidate(tiers, rules[index - offset], quality, cost)

    def cheapest_within(self, allowed: float, z: float, budget: float) -> Candidate | None:
        """The cheapest cell whose loss plus ``z`` standard errors is within ``allowed``.

        Only cells cheaper than ``budget`` (the reference's cost) count; None if none.
        On a cost tie the smaller loss, then the shorter cascade wins.
        """
        feasible = np.flatnonzero(
            (self.loss + z * self.error <= allowed + 1e-12) & (self.cost < budget * (1 - 1e-9))
        )
        if not len(feasible):
            return None
        order = np.lexsort(
            (self.depth[feasible], self.loss[feasible], np.round(self.cost[feasible], 12))
        )
        return self.candidate(int(feasible[order[0]]))


def cell_table(
    matrix: OutcomeMatrix,
    scores: StageScores,
    options: SearchOptions,
    rows: IntArray,
    reference: int,
) -> CellTable:
    """All cells of the task on ``rows``, with the paired loss against model ``reference``."""
    base = matrix.quality[:, reference]
    blocks: list[tuple[tuple[int, ...], list[Rules], int]] = []
    sums: list[FloatArray] = []
    costs: list[FloatArray] = []
    offset = 0
    for tiers, rules, block_sums, block_cost in _cascades(matrix, scores, options, rows, base):
        blocks.append((tiers, rules, offset))
        sums.append(block_sums)
        costs.append(block_cost)
        offset += len(rules)
    stacked = np.vstack(sums)
    size = len(rows)
    served, cross, square = stacked[:, 0], stacked[:, 1], stacked[:, 2]
    base_sum, base_square = float(base[rows].sum()), float((base[rows] ** 2).sum())
    loss = (base_sum - served) / size
    second = (base_square - 2.0 * cross + square) / size
    error = np.sqrt(np.maximum(second - loss**2, 0.0) / max(size - 1, 1))
    depth = np.concatenate([np.full(len(r), len(t), dtype=np.float64) for t, r, _ in blocks])
    return CellTable(
        blocks=tuple(blocks),
        size=size,
        quality=served / size,
        cost=np.concatenate(costs),
        loss=loss,
        error=error,
        depth=depth,
    )


def _cascades(
    matrix: OutcomeMatrix,
    scores: StageScores,
    options: SearchOptions,
    rows: IntArray,
    base: FloatArray,
) -> itertools.chain[tuple[tuple[int, ...], list[Rules], FloatArray, FloatArray]]:
    """(tiers, rules, sums [cells, 3], cost [cells]) of single models, then of cascades."""
    singles: list[tuple[tuple[int, ...], list[Rules], FloatArray, FloatArray]] = []
    for model in range(len(matrix.models)):
        q = matrix.quality[rows, model]
        block = np.array([[q.sum(), (q * base[rows]).sum(), (q * q).sum()]])
        cost = np.array([matrix.cost[rows, model].sum()])
        no_rules: Rules = ()
        singles.append(((model,), [no_rules], block, cost))
    cascades = (
        (tiers, *paired_grid(matrix, scores, tiers, options.grid_size, rows, base))
        for length in range(2, options.max_tiers + 1)
        for tiers in itertools.combinations(range(len(matrix.models)), length)
    )
    return itertools.chain(singles, cascades)
