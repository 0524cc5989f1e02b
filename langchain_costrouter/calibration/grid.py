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
    values = matrix.quality[rows][:, tiers][:, :, None]
    rules, sums, cost = served_sums(matrix, scores, tiers, grid, rows, values)
    return rules, sums[:, 0], cost


def paired_grid(
    matrix: OutcomeMatrix,
    scores: StageScores,
    tiers: tuple[int, ...],
    grid: int,
    rows: IntArray,
    reference: FloatArray,
) -> tuple[list[Rules], FloatArray, FloatArray]:
    """Per cell: sums of served quality ``s``, ``reference * s`` and ``s**2``; and cost.

    With the reference's own sums these give every cell's paired loss against the
    reference (mean and variance of ``reference - s``) without a per-row pass.
    """
    q = matrix.quality[rows][:, tiers]
    values = np.stack([q, q * reference[rows][:, None], q * q], axis=2)
    return served_sums(matrix, scores, tiers, grid, rows, values)


def served_sums(
    matrix: OutcomeMatrix,
    scores: StageScores,
    tiers: tuple[int, ...],
    grid: int,
    rows: IntArray,
    values: FloatArray,
) -> tuple[list[Rules], FloatArray, FloatArray]:
    """Sums over ``rows`` of per-tier ``values`` [rows, tiers, k] as served, per grid cell.

    Returns the rules of every cell, the sums [cells, k] and the cost [cells].
    """
    c = matrix.cost[rows][:, tiers]
    first = scores.first_stage(tiers[0])[rows]
    first_rules = [("scorer", float(t)) for t in threshold_grid(first, grid)]
    first_accept = accept_masks(first, [t for _, t in first_rules])
    if len(tiers) == 2:
        sums = first_accept @ values[:, 0] + (1 - first_accept) @ values[:, 1]
        cost = c[:, 0].sum() + (1 - first_accept) @ c[:, 1]
        return [(rule,) for rule in first_rules], sums, cost
    second_rules, second_accept = _second_stage(scores, tiers[1], tiers[0], grid, rows)
    rules: list[Rules] = list(itertools.product(first_rules, second_rules))
    sums = _three_tier_sums(first_accept, second_accept, values)
    paid = np.cumsum(c, axis=1)[:, :, None]
    cost = _three_tier_sums(first_accept, second_accept, paid)[:, 0]
    return rules, sums, cost


def _three_tier_sums(first: FloatArray, second: FloatArray, values: FloatArray) -> FloatArray:
    """Sums [first x second cells, k] of what three tiers serve, by one matrix product.

    A row the first tier rejects is served ``v2 + second * (v1 - v2)`` by the rest
    (costs pass what each tier has paid so far: escalating pays them all), so the sums split into
    terms of the first-tier cells alone plus ``(reject * delta) @ second.T``: the
    elementwise work is first cells x rows, not first x second cells x rows.
    """
    reject = 1.0 - first
    v0, v1, v2 = values[:, 0], values[:, 1], values[:, 2]
    own = first @ v0 + reject @ v2
    delta = v1 - v2
    weighted = (reject[:, None, :] * delta.T[None, :, :]).reshape(-1, reject.shape[1])
    extra = (weighted @ second.T).reshape(len(first), values.shape[2], len(second))
    sums = own[:, :, None] + extra
    return np.asarray(sums.transpose(0, 2, 1).reshape(-1, values.shape[2]), dtype=np.float64)


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
    matrix: OutcomeMatrix,
    scores: StageScores,
    candidate: Candidate,
    rows: IntArray,
    *,
    shipped: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Per question of ``rows``: the quality the cascade serves and what it pays.

    Its scorers' OOF scores decide, or with ``shipped`` the shipped scorers' stacks
    (`oof.StageScores.shipped_stage`): what the policy that ships would decide.
    """
    tiers = candidate.tiers
    q, c = matrix.quality[rows][:, tiers], matrix.cost[rows][:, tiers]
    quality, cost = q[:, -1].copy(), c[:, -1].copy()
    for stage in range(len(tiers) - 2, -1, -1):
        accept = _accepts(scores, candidate, stage, rows, shipped)
        quality = accept * q[:, stage] + (1 - accept) * quality
        cost = c[:, stage] + (1 - accept) * cost
    return quality, cost


def _accepts(
    scores: StageScores, candidate: Candidate, stage: int, rows: IntArray, shipped: bool
) -> FloatArray:
    kind, threshold = candidate.rules[stage]
    model = candidate.tiers[stage]
    previous = candidate.tiers[stage - 1] if stage > 0 else None
    if kind == "agreement" and previous is not None:
        values = scores.agreement(model, previous)[rows, 0]
    elif shipped:
        values = scores.shipped_stage(model, previous)[rows]
    else:
        values = scores.stage(model, previous)[rows]
    return np.asarray(values >= threshold, dtype=np.float64)
