"""Policy search: per task label, the cheapest cascade that keeps quality.

`calibrate` runs the guarded search (`guarded`: the loss against the baseline bounded
on held-back rows) unless ``SearchOptions.method`` is ``legacy``: FrugalGPT's
objective, minimum out-of-fold train cost subject to quality >= target, kept so the
two can be compared (``bench/calibration_stability.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from langchain_costrouter.calibration._blas import one_blas_thread
from langchain_costrouter.calibration.evaluate import (
    CostFunction,
    OutcomeMatrix,
    recorded_cost,
    single_model_figures,
)
from langchain_costrouter.calibration.features import FloatArray
from langchain_costrouter.calibration.grid import Candidate, cascade_grid, final_rule
from langchain_costrouter.calibration.guarded import guarded_search
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.options import SearchOptions, unreachable_target
from langchain_costrouter.calibration.parallel import prefit_tiers
from langchain_costrouter.calibration.policy import Policy, TaskPolicy
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.outcomes import OutcomeRecord

_TOLERANCE = 1e-9


def calibrate(
    records: Sequence[OutcomeRecord],
    options: SearchOptions | None = None,
    cost_of: CostFunction = recorded_cost,
) -> Policy:
    """Learn a policy from train records: one cascade per task label."""
    tasks = sorted({record.task for record in records})
    matrices = (
        (task, OutcomeMatrix.of([r for r in records if r.task == task], cost_of)) for task in tasks
    )
    return search_matrices(matrices, len(records), options or SearchOptions())


def search_matrices(
    matrices: Iterable[tuple[str, OutcomeMatrix]], train_size: int, options: SearchOptions
) -> Policy:
    """`calibrate` on each task's matrix, in the order given (task labels sorted).

    The matrices may come from parsed records or from `table.task_matrix`'s columns:
    equal matrices give the same policy. The search runs numpy's BLAS on one thread
    unless the environment sets a count (`calibration/_blas.py` says why).

    Raises:
        ConfigError: naming the task whose search failed (a target it cannot reach).
    """
    search = guarded_search if options.method == "guarded" else search_task
    policies = {}
    with one_blas_thread():  # small matrix products: see `calibration/_blas.py`
        for task, matrix in matrices:
            try:
                policies[task] = search(matrix, options)
            except ConfigError as error:
                raise ConfigError(f"task {task!r}: {error.reason}") from None
    meta = {
        "seed": options.seed,
        "folds": options.folds,
        "train_size": train_size,
        "method": options.method,
    }
    return Policy(tasks=policies, meta=meta)


def search_task(matrix: OutcomeMatrix, options: SearchOptions) -> TaskPolicy:
    """Legacy: the cheapest cascade meeting the target on OOF train scores (no bound)."""
    target = _target(matrix, options)
    goals = (target + options.quality_margin, target)
    scores = StageScores.of(matrix, options.folds, options.seed)
    prefit_tiers(scores, options)
    best = choose_safe(list(_candidates(matrix, scores, options, goals)), goals)
    if best.quality + _TOLERANCE < target:
        tiers = " -> ".join(matrix.models[i] for i in best.tiers)
        how = f"no cascade reaches it, the best ({tiers}) reaches {best.quality:.4f}"
        raise unreachable_target(target, best.quality, how)
    rules = tuple(
        final_rule(scores, best, stage, kind, threshold)
        for stage, (kind, threshold) in enumerate(best.rules)
    )
    train = {
        "quality": round(best.quality, 6),
        "cost_usd": round(best.cost, 6),
        "target_quality": round(target, 6),
        "quality_margin": options.quality_margin,
        "target_met": best.quality + _TOLERANCE >= target,
        "size": matrix.size,
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
            rows = np.arange(matrix.size)
            rules, quality, cost = cascade_grid(matrix, scores, tiers, options.grid_size, rows)
            yield from _grid_picks(tiers, rules, quality / matrix.size, cost, goals)


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
