"""Policy search: per task label, the cheapest cascade whose train quality meets a target.

For every ordered choice of up to three models (cheapest first) and every per-stage
rule (learned scorer at a quantile threshold, or agreement with the previous tier),
the train quality and cost are computed in closed form with matrix products over
out-of-fold scores, so hundreds of thousands of candidates take well under a second.
The objective is FrugalGPT's: minimum cost subject to quality >= target, where the
target defaults to the best single model's train quality on that task.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from langchain_costrouter.calibration.evaluate import (
    CostFunction,
    OutcomeMatrix,
    recorded_cost,
    single_model_figures,
)
from langchain_costrouter.calibration.features import FloatArray
from langchain_costrouter.calibration.oof import StageScores, accept_masks, threshold_grid
from langchain_costrouter.calibration.policy import Policy, StageRule, TaskPolicy
from langchain_costrouter.outcomes import OutcomeRecord

_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SearchOptions:
    """Knobs of the search; defaults reproduce the documented figures.

    ``target_quality`` applies to every task when set; otherwise each task's target is
    ``quality_ratio`` times its best single model's train quality. The search asks
    for ``quality_margin`` more than the target on train: among thousands of
    candidates the cheapest one that barely meets the target is the one whose
    out-of-fold figures were luckiest, and half a point buys back what that luck
    costs on new traffic. When no candidate clears the margin, the target alone is
    required.
    """

    target_quality: float | None = None
    quality_ratio: float = 1.0
    quality_margin: float = 0.005
    seed: int = 0
    folds: int = 5
    max_tiers: int = 3
    grid_size: int = 40


@dataclass(frozen=True)
class Candidate:
    """One cascade with its rules and its (out-of-fold) train figures."""

    tiers: tuple[int, ...]
    rules: tuple[tuple[str, float], ...]
    quality: float
    cost: float


def calibrate(
    records: Sequence[OutcomeRecord],
    options: SearchOptions = SearchOptions(),
    cost_of: CostFunction = recorded_cost,
) -> Policy:
    """Learn a policy from train records: one cascade per task label."""
    tasks = sorted({record.task for record in records})
    policies = {
        task: search_task(
            OutcomeMatrix.of([r for r in records if r.task == task], cost_of), options
        )
        for task in tasks
    }
    meta = {"seed": options.seed, "folds": options.folds, "train_size": len(records)}
    return Policy(tasks=policies, meta=meta)


def search_task(matrix: OutcomeMatrix, options: SearchOptions) -> TaskPolicy:
    """The cheapest cascade of one task that meets the target on OOF train scores."""
    target = _target(matrix, options)
    goals = (target + options.quality_margin, target)
    scores = StageScores.of(matrix, options.folds, options.seed)
    best = choose_safe(list(_candidates(matrix, scores, options, goals)), goals)
    rules = tuple(
        _final_rule(scores, best, stage, kind, threshold)
        for stage, (kind, threshold) in enumerate(best.rules)
    )
    train = {
        "quality": round(best.quality, 6),
        "cost_usd": round(best.cost, 6),
        "target_quality": round(target, 6),
        "quality_margin": options.quality_margin,
        "target_met": best.quality + _TOLERANCE >= target,
        "size": len(matrix.records),
    }
    return TaskPolicy(tiers=tuple(matrix.models[i] for i in best.tiers), rules=rules, train=train)


def choose_safe(candidates: Sequence[Candidate], goals: Sequence[float]) -> Candidate:
    """The cheapest candidate meeting the first goal any candidate meets."""
    for goal in goals:
        if any(c.quality + _TOLERANCE >= goal for c in candidates):
            return choose(candidates, goal)
    return choose(candidates, goals[-1])


def choose(candidates: Sequence[Candidate], target: float) -> Candidate:
    """Minimum cost with quality >= target (higher quality on a tie); else best quality."""
    feasible = [c for c in candidates if c.quality + _TOLERANCE >= target]
    if feasible:
        return min(feasible, key=lambda c: (round(c.cost, 12), -c.quality, len(c.tiers)))
    return max(candidates, key=lambda c: (c.quality, -c.cost))


def _target(matrix: OutcomeMatrix, options: SearchOptions) -> float:
    if options.target_quality is not None:
        return options.target_quality
    best = max(figures.quality for figures in single_model_figures(matrix).values())
    return options.quality_ratio * best


def _candidates(
    matrix: OutcomeMatrix, scores: StageScores, options: SearchOptions, goals: Sequence[float]
) -> Iterator[Candidate]:
    for model in range(len(matrix.models)):
        quality, cost = matrix.quality[:, model].mean(), matrix.cost[:, model].sum()
        yield Candidate((model,), (), float(quality), float(cost))
    for length in range(2, options.max_tiers + 1):
        for tiers in itertools.combinations(range(len(matrix.models)), length):
            rules, quality, cost = _cascade_grid(matrix, scores, tiers, options.grid_size)
            yield from _grid_picks(tiers, rules, quality / len(matrix.records), cost, goals)


def _grid_picks(
    tiers: tuple[int, ...],
    rules: list[tuple[tuple[str, float], ...]],
    quality: FloatArray,
    cost: FloatArray,
    goals: Sequence[float],
) -> Iterator[Candidate]:
    """The cheapest cell of a cascade's grid meeting each goal, and its best-quality cell."""
    picks: list[int] = []
    for goal in goals:
        feasible = np.flatnonzero(quality + _TOLERANCE >= goal)
        if len(feasible):
            order = np.lexsort((-quality[feasible], np.round(cost[feasible], 12)))
            picks.append(int(feasible[order[0]]))
    picks.append(int(np.lexsort((cost, -quality))[0]))
    for index in picks:
        yield Candidate(tiers, rules[index], float(quality[index]), float(cost[index]))


def _cascade_grid(
    matrix: OutcomeMatrix, scores: StageScores, tiers: tuple[int, ...], grid: int
) -> tuple[list[tuple[tuple[str, float], ...]], FloatArray, FloatArray]:
    """Summed quality and cost of every threshold combination of one cascade (flat)."""
    q, c = matrix.quality[:, tiers], matrix.cost[:, tiers]
    first = scores.first_stage(tiers[0])
    first_rules = [("scorer", float(t)) for t in threshold_grid(first, grid)]
    first_accept = accept_masks(first, [t for _, t in first_rules])
    if len(tiers) == 2:
        quality = first_accept @ q[:, 0] + (1 - first_accept) @ q[:, 1]
        cost = c[:, 0].sum() + (1 - first_accept) @ c[:, 1]
        return [(rule,) for rule in first_rules], quality, cost
    second_rules, second_accept = _second_stage(scores, tiers[1], tiers[0], grid)
    rest_quality = second_accept * q[:, 1] + (1 - second_accept) * q[:, 2]
    rest_cost = c[:, 1] + (1 - second_accept) * c[:, 2]
    quality = first_accept @ q[:, 0][:, None] + (1 - first_accept) @ rest_quality.T
    cost = c[:, 0].sum() + (1 - first_accept) @ rest_cost.T
    rules = list(itertools.product(first_rules, second_rules))
    return list(rules), np.asarray(quality).ravel(), np.asarray(cost, dtype=np.float64).ravel()


def _second_stage(
    scores: StageScores, model: int, previous: int, grid: int
) -> tuple[list[tuple[str, float]], FloatArray]:
    later = scores.later_stage(model, previous)
    thresholds = threshold_grid(later, grid)
    rules = [("scorer", float(t)) for t in thresholds] + [("agreement", 1.0)]
    agree = scores.agreement(model, previous)[:, 0]
    masks = np.vstack([accept_masks(later, thresholds), agree[None, :]])
    return rules, masks


def _final_rule(
    scores: StageScores, best: Candidate, stage: int, kind: str, threshold: float
) -> StageRule:
    if kind != "scorer":
        return StageRule(kind=kind, threshold=threshold)
    previous = best.tiers[stage - 1] if stage > 0 else None
    scorer = scores.final_scorer(best.tiers[stage], previous)
    return StageRule(kind="scorer", threshold=threshold, scorer=scorer)
