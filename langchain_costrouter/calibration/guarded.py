"""The guarded search: the cheapest cascade whose quality loss has a proven upper bound.

Choosing the cheapest of thousands of candidates on the rows that also score them
picks the luckiest one, so a cascade that just meets the target on train falls short
on new traffic about half the time. The guarded search therefore asks how cautious
the choice must be, and measures that on rows the choice never saw:

- a rule of choice with caution ``z`` takes the cheapest cell whose paired loss
  against the reference on the rows it is given, plus ``z`` standard errors, is
  within the allowed loss (`cells.CellTable.cheapest_within`): a cell that rarely
  disagrees with the reference needs little room, one that often does needs more;
- nested folds: the train rows are split into ``outer_folds``, copies of a prompt in
  one fold (`groups`); for each fold the reference (best single model) is picked and
  the rule chooses on the other folds, and the chosen cascade and that reference
  answer the held fold. So every train row is answered by a choice made without it
  (or a copy of its prompt) and compared with a baseline picked without it, just as
  the test half is compared with the baseline picked on train;
- the paired loss of those answers gets a one-sided upper bound at ``confidence``
  (`bounds.loss_upper_bound`: exact on discordant pairs for 0/1 scores, copies of a
  prompt counted as one question, as the promise's intervals count them); the caution
  levels are tried from the most cautious to the boldest and the walk stops at the
  first whose bound exceeds the allowed loss (fixed-sequence testing: no
  multiple-comparison penalty);
- the boldest level that passed chooses the final cascade on all train rows, with
  its ``z`` widened so the room in points is what the nested choices kept.

With too few rows (distinct prompts: copies are one piece of evidence), no level proven
safe, or no cheaper cascade within the proven room on all train rows, the task keeps the
baseline and saves nothing: the policy says which and why, and promises the baseline's
own figures (the nested cascades' are not its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from langchain_costrouter.calibration.bounds import LossBound, loss_upper_bound, saving_interval
from langchain_costrouter.calibration.cells import cell_table
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.grid import Candidate, final_rule, served
from langchain_costrouter.calibration.oof import StageScores, fold_ids
from langchain_costrouter.calibration.options import SearchOptions, unreachable_target
from langchain_costrouter.calibration.parallel import prefit_tiers
from langchain_costrouter.calibration.policy import TaskPolicy
from langchain_costrouter.calibration.quality_bound import quality_interval, quality_lower_bound


@dataclass(frozen=True)
class Evidence:
    """Nested-fold answers of the proven rule and of the baseline, row by row."""

    caution: float
    bound: LossBound
    quality: FloatArray
    reference: FloatArray


CAUTIONS = (6.0, 4.0, 3.0, 2.5, 2.0, 1.645, 1.28, 1.0, 0.5, 0.0)
"""Standard errors of room a choice keeps under the allowed loss, most cautious first.

Every level is a chance for noise to end the walk, so the head (where choices rest on
few disagreements) has few, coarse levels and the tail, where savings change, finer ones.
"""


def guarded_search(matrix: OutcomeMatrix, options: SearchOptions) -> TaskPolicy:
    """The task's cheapest cascade whose nested-fold loss bound is within the allowed loss."""
    scores = StageScores.of(matrix, options.folds, options.seed)
    everything = np.arange(matrix.size)
    baseline = _baseline_model(matrix, everything)
    allowed = _allowed_loss(matrix, baseline, options)
    keep = Candidate((baseline,), (), float(matrix.quality[:, baseline].mean()), 0.0)
    reason = _too_few_rows(matrix, options.min_rows)
    if reason is not None:
        return _policy(matrix, scores, keep, options, allowed, None, reason)
    prefit_tiers(scores, options)
    evidence = _proven_caution(matrix, scores, options, allowed)
    if evidence is None:
        return _policy(matrix, scores, keep, options, allowed, None, "no choice proven safe")
    table = cell_table(matrix, scores, options, everything, baseline)
    budget = float(matrix.cost[:, baseline].sum())
    caution = evidence.caution * _final_scale(len(everything), options.outer_folds)
    chosen = table.cheapest_within(allowed, caution, budget)
    reason = f"caution {evidence.caution:g} standard errors proven on nested folds"
    if chosen is None:
        # The evidence is the nested cascades'; the baseline alone saves and loses nothing.
        reason += ", but no cheaper cascade fits on all train rows: kept the baseline"
        return _policy(matrix, scores, keep, options, allowed, None, reason)
    return _policy(matrix, scores, chosen, options, allowed, evidence, reason)


def _too_few_rows(matrix: OutcomeMatrix, min_rows: int) -> str | None:
    """Why the task keeps the baseline untried: fewer than ``min_rows`` distinct prompts.

    Copies of a prompt share a fold, so a hundred rows of a few prompts would leave
    folds empty and a bound resting on a few questions.
    """
    prompts = len(set(matrix.prompt_keys()))
    if prompts >= min_rows:
        return None
    if prompts == matrix.size:
        return f"too few rows ({prompts} < {min_rows}): kept the baseline"
    counts = f"{prompts} < {min_rows}, in {matrix.size} rows"
    return f"too few distinct prompts ({counts}): kept the baseline"


def _final_scale(size: int, folds: int) -> float:
    """How much the final choice's ``z`` grows so its room in points matches the nested ones.

    The nested choices saw ``(folds - 1) / folds`` of the rows, so their standard errors
    were wider by ``sqrt(folds / (folds - 1))``; at the same ``z`` the final choice on all
    rows would keep less room, and be bolder than anything the evidence judged.
    """
    kept = size - -(-size // folds)
    return math.sqrt(size / max(kept, 1))


def _proven_caution(
    matrix: OutcomeMatrix, scores: StageScores, options: SearchOptions, allowed: float
) -> Evidence | None:
    """The boldest caution whose nested-fold loss bound holds, walking from the most cautious."""
    answers = _nested_answers(matrix, scores, options, allowed)
    proven = None
    for caution, (quality, reference) in zip(CAUTIONS, answers, strict=True):
        bound = loss_upper_bound(reference, quality, options.confidence, matrix.prompt_groups)
        if bound.upper > allowed:
            break
        proven = Evidence(caution, bound, quality, reference)
    return proven


def _nested_answers(
    matrix: OutcomeMatrix, scores: StageScores, options: SearchOptions, allowed: float
) -> list[tuple[FloatArray, FloatArray]]:
    """Per caution: the quality each row gets from a choice made on the other folds, and
    the quality of the baseline picked on those folds."""
    size = matrix.size
    outer = fold_ids(matrix.prompt_keys(), options.outer_folds, options.seed + 1)
    answers = [(np.zeros(size), np.zeros(size)) for _ in CAUTIONS]
    for fold in range(options.outer_folds):
        kept, held = np.flatnonzero(outer != fold), np.flatnonzero(outer == fold)
        reference = _baseline_model(matrix, kept)
        table = cell_table(matrix, scores, options, kept, reference)
        budget = float(matrix.cost[kept, reference].sum())
        for caution, (quality, base) in zip(CAUTIONS, answers, strict=True):
            base[held] = matrix.quality[held, reference]
            chosen = table.cheapest_within(allowed, caution, budget)
            if chosen is None:
                quality[held] = base[held]
            else:
                quality[held] = served(matrix, scores, chosen, held)[0]
    return answers


def _baseline_model(matrix: OutcomeMatrix, rows: IntArray) -> int:
    """The best single model on ``rows`` (the cheaper on a tie)."""
    quality, cost = matrix.quality[rows].mean(axis=0), matrix.cost[rows].sum(axis=0)
    return int(np.lexsort((cost, -quality))[0])


def _allowed_loss(matrix: OutcomeMatrix, baseline: int, options: SearchOptions) -> float:
    """The loss the promise may allow; a target above the baseline is none it can keep.

    The promise bounds the loss against the baseline, so the most it can promise is the
    baseline's quality: a policy promising that, under a higher target, would say less
    than was asked.
    """
    best = float(matrix.quality[:, baseline].mean())
    target = options.target_quality
    if target is not None and target > best + 1e-9:
        how = (
            "the guarded search promises quality against the best single model "
            f"({matrix.models[baseline]}, {best:.4f}), and no more than it"
        )
        raise unreachable_target(target, best, how)
    if target is not None:
        return max(best - target, 0.0)
    if options.quality_ratio != 1.0:
        return max(best * (1.0 - options.quality_ratio), 0.0)
    return options.max_quality_loss


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
    train = _promise(matrix, scores, chosen, options, allowed, evidence, reason)
    return TaskPolicy(tiers=tuple(matrix.models[i] for i in chosen.tiers), rules=rules, train=train)


def _promise(
    matrix: OutcomeMatrix,
    scores: StageScores,
    chosen: Candidate,
    options: SearchOptions,
    allowed: float,
    evidence: Evidence | None,
    reason: str,
) -> dict[str, Any]:
    """What the policy promises and its evidence (the policy file's ``train`` entry).

    Expected quality and its bounds are the nested-fold figures (answers from cascades
    chosen without the row), not the final choice's own train figures. The saving is
    the final cascade's against the final baseline (`_final_costs`).
    """
    baseline = _baseline_model(matrix, np.arange(matrix.size))
    base_quality, base_cost = matrix.quality[:, baseline], matrix.cost[:, baseline]
    cost, loss = base_cost, 0.0
    if evidence is not None:
        base_quality, loss = evidence.reference, evidence.bound.upper
        cost = _final_costs(matrix, scores, chosen)
    quality = base_quality if evidence is None else evidence.quality
    groups = matrix.prompt_groups
    low, high = saving_interval(cost, base_cost, options.confidence, options.seed, groups)
    quality_low, quality_high = quality_interval(quality, options.confidence, groups)
    total = float(base_cost.sum())
    # Never above the baseline minus the proven loss, which alone bounds the loss, not
    # the baseline's own sampling error (`quality_bound`).
    lowest = min(
        float(base_quality.mean()) - loss,
        quality_lower_bound(quality, options.confidence, groups),
    )
    return {
        "method": "guarded",
        "decision": reason,
        "baseline_model": matrix.models[baseline],
        "allowed_loss": round(allowed, 6),
        "confidence": options.confidence,
        "size": matrix.size,
        "baseline_quality": round(float(base_quality.mean()), 6),
        "expected_quality": round(float(quality.mean()), 6),
        "quality_interval": [round(quality_low, 6), round(quality_high, 6)],
        "quality_lower_bound": round(lowest, 6),
        "loss_upper_bound": round(loss, 6),
        "expected_saving": round(1.0 - float(cost.sum()) / total if total > 0 else 0.0, 6),
        "saving_interval": [round(low, 6), round(high, 6)],
        "quality": round(chosen.quality, 6),
        "scope": f"for questions drawn as its {matrix.size} train rows were, not other data",
    }


def _final_costs(matrix: OutcomeMatrix, scores: StageScores, chosen: Candidate) -> FloatArray:
    """What the shipped cascade pays on each train row, as its shipped scorers decide.

    The saving is promised for the policy that ships, against the baseline it names, so
    it is measured on those two. The nested cascades' costs are not: their baselines
    were picked per fold (on OVERRULING text-davinci-002 in some folds and GPT-4, dearer,
    in others) and their cascades are not the final one, so their saving interval held
    the final policy's test saving in 1 of 6 splits. Nor are the OOF scores the search
    chose on: each fold's stack differs from the one that ships, and a threshold in a
    tail of the scores accepts another share under each (`oof.StageScores.shipped_stage`;
    on four equally good models the fold stacks' promise held the saving on new
    questions in 2 of 6 runs, this one in 6 of 6). The final cascade was chosen on these
    rows by its loss, not found cheap on them: its costs carry little of the choice's luck
    (tests/unit_tests/calibration/test_saving_interval.py measures it).
    """
    return served(matrix, scores, chosen, np.arange(matrix.size), shipped=True)[1]
