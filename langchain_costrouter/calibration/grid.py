"""The candidate cascades of one task, and what a chosen one serves question by question.

For every ordered choice of up to three models (cheapest first) and every per-stage
rule (learned scorer at a quantile threshold, or agreement with the previous tier),
quality and cost are computed in closed form with matrix products over out-of-fold
scores, so hundreds of thousands of candidates take well under a second.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.oof import StageScores, accept_masks, threshold_grid
from langchain_costrouter.calibration.policy import StageRule

Rules = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Candidate:
    """One cascade with its rules and its (out-of-fold) train figures."""

    tiers: tuple[int, ...]
    rules: tuple[tuple[str, float], ...]
    quality: float
    cost: float


def cascade_grid(
    matrix: OutcomeMatrix,
    scores: StageScores,
    tiers: tuple[int, ...],
    grid: int,
    rows: IntArray,
) -> tuple[list[Rules], FloatArray, FloatArray]:
    """Summed quality and cost on ``rows`` of every threshold combination of one cascade."""
    q, c = matrix.quality[rows][:, tiers], matrix.cost[rows][:, tiers]
    first = scores.first_stage(tiers[0])[rows]
    first_rules = [("scorer", float(t)) for t in threshold_grid(first, grid)]
    first_accept = accept_masks(first, [t for _, t in first_rules])
    if len(tiers) == 2:
        quality = first_accept @ q[:, 0] + (1 - first_accept) @ q[:, 1]
        cost = c[:, 0].sum() + (1 - first_accept) @ c[:, 1]
        return [(rule,) for rule in first_rules], quality, cost
    second_rules, second_accept = _second_stage(scores, tiers[1], tiers[0], grid, rows)
    rest_quality = second_accept * q[:, 1] + (1 - second_accept) * q[:, 2]
    rest_cost = c[:, 1] + (1 - second_accept) * c[:, 2]
    quality = first_accept @ q[:, 0][:, None] + (1 - first_accept) @ rest_quality.T
    cost = c[:, 0].sum() + (1 - first_accept) @ rest_cost.T
    rules = list(itertools.product(first_rules, second_rules))
    return list(rules), np.asarray(quality).ravel(), np.asarray(cost, dtype=np.float64).ravel()


def _second_stage(
    scores: StageScores, model: int, previous: int, grid: int, rows: IntArray
) -> tuple[list[tuple[str, float]], FloatArray]:
    later = scores.later_stage(model, previous)[rows]
    thresholds = threshold_grid(later, grid)
    rules = [("scorer", float(t)) for t in thresholds] + [("agreement", 1.0)]
    agree = scores.agreement(model, previous)[rows, 0]
    masks = np.vstack([accept_masks(later, thresholds), agree[None, :]])
    return rules, masks


def final_rule(
    scores: StageScores, best: Candidate, stage: int, kind: str, threshold: float
) -> StageRule:
    if kind != "scorer":
        return StageRule(kind=kind, threshold=threshold)
    previous = best.tiers[stage - 1] if stage > 0 else None
    scorer = scores.final_scorer(best.tiers[stage], previous)
    return StageRule(kind="scorer", threshold=threshold, scorer=scorer)


def served(
    matrix: OutcomeMatrix, scores: StageScores, candidate: Candidate, rows: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per question of ``rows``: the quality the cascade serves and what it pays."""
    tiers = candidate.tiers
    q, c = matrix.quality[rows][:, tiers], matrix.cost[rows][:, tiers]
    quality, cost = q[:, -1].copy(), c[:, -1].copy()
    for stage in range(len(tiers) - 2, -1, -1):
        accept = _accepts(scores, candidate, stage, rows)
        quality = accept * q[:, stage] + (1 - accept) * quality
        cost = c[:, stage] + (1 - accept) * cost
    return quality, cost


def _accepts(scores: StageScores, candidate: Candidate, stage: int, rows: IntArray) -> FloatArray:
    kind, threshold = candidate.rules[stage]
    model = candidate.tiers[stage]
    previous = candidate.tiers[stage - 1] if stage > 0 else None
    if kind == "agreement" and previous is not None:
        values = scores.agreement(model, previous)[rows, 0]
    else:
        values = scores.stage(model, previous)[rows]
    return np.asarray(values >= threshold, dtype=np.float64)
