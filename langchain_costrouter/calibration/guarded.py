"""The guarded search: the cheapest cascade whose quality loss has a proven upper bound.

Choosing the cheapest of thousands of candidates on the rows that also score them
picks the luckiest one, so a cascade that just meets the target on train falls short
on new traffic about half the time. The guarded search therefore asks how much
*margin* the choice needs, and measures that on rows the choice never saw:

- a rule of choice with margin ``m`` takes the cheapest candidate whose quality on
  the rows it is given is at least the baseline's there plus ``m`` (the baseline is
  the best single model on all train rows);
- nested folds: the train rows are split into ``outer_folds``; for each fold the rule
  chooses on the other folds and the chosen cascade answers the held fold, so every
  train row gets an answer from a cascade chosen without it;
- the paired loss of those answers against the baseline gets a one-sided upper bound
  at ``confidence`` (`bounds.loss_upper_bound`); the margins are tried from the most
  cautious to the boldest and the walk stops at the first whose bound exceeds the
  allowed loss (fixed-sequence testing: no multiple-comparison penalty);
- the boldest margin that passed chooses the final cascade on all train rows.

With too few rows, or no margin proven safe, the task keeps the baseline and saves
nothing: the policy says which and why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from langchain_costrouter.calibration.bounds import LossBound, loss_upper_bound, saving_interval
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.grid import Candidate, cascade_grid, final_rule, served
from langchain_costrouter.calibration.oof import StageScores, fold_ids
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.parallel import prefit_tiers
from langchain_costrouter.calibration.policy import TaskPolicy


@dataclass(frozen=True)
class Evidence:
    """Nested-fold answers of the proven rule: each train row, from a choice without it."""

    margin: float
    bound: LossBound
    quality: FloatArray
    cost: FloatArray


MARGINS = (0.03, 0.02, 0.015, 0.01, 0.005, 0.0, -0.005, -0.01)
"""Quality over the baseline a choice must show on its own rows, most cautious first."""


def guarded_search(matrix: OutcomeMatrix, options: SearchOptions) -> TaskPolicy:
    """The task's cheapest cascade whose nested-fold loss bound is within the allowed loss."""
    scores = StageScores.of(matrix, options.folds, options.seed)
    baseline = _baseline_model(matrix)
    allowed = _allowed_loss(matrix, baseline, options)
    everything = np.arange(matrix.size)
    keep = Candidate((baseline,), (), float(matrix.quality[:, baseline].mean()), 0.0)
    if len(everything) < options.min_rows:
        reason = f"too few rows ({len(everything)} < {options.min_rows}): kept the baseline"
        return _policy(matrix, scores, keep, options, allowed, None, reason)
    prefit_tiers(scores, options)
    evidence = _proven_margin(matrix, scores, options, baseline, allowed)
    if evidence is None:
        return _policy(matrix, scores, keep, options, allowed, None, "no margin proven safe")
    cells = list(_cells(matrix, scores, options, everything))
    chosen = _choose(cells, matrix, everything, baseline, evidence.margin) or keep
    reason = f"margin {evidence.margin * 100:+.1f} pt proven on nested folds"
    return _policy(matrix, scores, chosen, options, allowed, evidence, reason)


def _proven_margin(
    matrix: OutcomeMatrix,
    scores: StageScores,
    options: SearchOptions,
    baseline: int,
    allowed: float,
) -> Evidence | None:
    """The boldest margin whose nested-fold loss bound holds, walking from the most cautious."""
    outer = fold_ids(matrix.size, options.outer_folds, options.seed + 1)
    folds = [
        (np.flatnonzero(outer != fold), np.flatnonzero(outer == fold))
        for fold in range(options.outer_folds)
    ]
    grids = [list(_cells(matrix, scores, options, kept)) for kept, _ in folds]
    reference = matrix.quality[:, baseline]
    proven = None
    for margin in MARGINS:
        quality, cost = reference.copy(), matrix.cost[:, baseline].copy()
        for (kept, held), cells in zip(folds, grids, strict=True):
            chosen = _choose(cells, matrix, kept, baseline, margin)
            if chosen is not None:
                quality[held], cost[held] = served(matrix, scores, chosen, held)
        bound = loss_upper_bound(reference, quality, options.confidence)
        if bound.upper > allowed:
            break
        proven = Evidence(margin, bound, quality, cost)
    return proven


def _choose(
    cells: Sequence[Candidate],
    matrix: OutcomeMatrix,
    rows: IntArray,
    baseline: int,
    margin: float,
) -> Candidate | None:
    """The cheapest cell at least ``margin`` above the baseline on ``rows``; None if none."""
    goal = float(matrix.quality[rows, baseline].mean()) + margin
    base_cost = float(matrix.cost[rows, baseline].sum())
    feasible = [c for c in cells if c.quality + 1e-9 >= goal and c.cost < base_cost]
    if not feasible:
        return None
    return min(feasible, key=lambda c: (round(c.cost, 12), -c.quality, len(c.tiers)))


def _baseline_model(matrix: OutcomeMatrix) -> int:
    quality, cost = matrix.quality.mean(axis=0), matrix.cost.sum(axis=0)
    return int(np.lexsort((cost, -quality))[0])


def _allowed_loss(matrix: OutcomeMatrix, baseline: int, options: SearchOptions) -> float:
    best = float(matrix.quality[:, baseline].mean())
    if options.target_quality is not None:
        return max(best - options.target_quality, 0.0)
    if options.quality_ratio != 1.0:
        return max(best * (1.0 - options.quality_ratio), 0.0)
    return options.max_quality_loss


def _cells(
    matrix: OutcomeMatrix, scores: StageScores, options: SearchOptions, rows: IntArray
) -> Iterator[Candidate]:
    size = len(rows)
    for model in range(len(matrix.models)):
        quality, cost = matrix.quality[rows, model].mean(), matrix.cost[rows, model].sum()
        yield Candidate((model,), (), float(quality), float(cost))
    for length in range(2, options.max_tiers + 1):
        for tiers in itertools.combinations(range(len(matrix.models)), length):
            rules, quality, cost = cascade_grid(matrix, scores, tiers, options.grid_size, rows)
            keep = _pareto(quality / size, cost)
            for index in keep:
                yield Candidate(
                    tiers, rules[index], float(quality[index] / size), float(cost[index])
                )


def _pareto(quality: FloatArray, cost: FloatArray) -> list[int]:
    """Indices of one cascade's grid cells that no cheaper cell matches in quality."""
    order = np.lexsort((-quality, cost))
    kept: list[int] = []
    best = -np.inf
    for index in order:
        if quality[index] > best:
            kept.append(int(index))
            best = float(quality[index])
    return kept


def _policy(
    matrix: OutcomeMatrix,
    scores: StageScores,
    chosen: Candidate,
    options: SearchOptions,
    allowed: float,
    evidence: Evidence | None,
    reason: str,
) -> TaskPolicy:
    rules = tuple(
        final_rule(scores, chosen, stage, kind, threshold)
        for stage, (kind, threshold) in enumerate(chosen.rules)
    )
    train = _promise(matrix, chosen, options, allowed, evidence, reason)
    return TaskPolicy(tiers=tuple(matrix.models[i] for i in chosen.tiers), rules=rules, train=train)


def _promise(
    matrix: OutcomeMatrix,
    chosen: Candidate,
    options: SearchOptions,
    allowed: float,
    evidence: Evidence | None,
    reason: str,
) -> dict[str, Any]:
    """What the policy promises and its evidence (the policy file's ``train`` entry).

    Expected quality and saving are the nested-fold figures (answers from cascades
    chosen without the row), not the final choice's own train figures.
    """
    baseline = _baseline_model(matrix)
    base_quality, base_cost = matrix.quality[:, baseline], matrix.cost[:, baseline]
    quality = base_quality if evidence is None else evidence.quality
    cost = base_cost if evidence is None else evidence.cost
    loss = 0.0 if evidence is None else max(evidence.bound.upper, 0.0)
    low, high = saving_interval(cost, base_cost, options.confidence, options.seed)
    total = float(base_cost.sum())
    return {
        "method": "guarded",
        "decision": reason,
        "baseline_model": matrix.models[baseline],
        "allowed_loss": round(allowed, 6),
        "confidence": options.confidence,
        "size": matrix.size,
        "expected_quality": round(float(quality.mean()), 6),
        "quality_lower_bound": round(float(base_quality.mean()) - loss, 6),
        "loss_upper_bound": round(loss, 6),
        "expected_saving": round(1.0 - float(cost.sum()) / total if total > 0 else 0.0, 6),
        "saving_interval": [round(low, 6), round(high, 6)],
        "quality": round(chosen.quality, 6),
    }
