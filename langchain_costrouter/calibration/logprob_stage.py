"""Whether an answer's token log-probabilities improve a stage's scorer, out of fold.

Log-probabilities are often informative (a model unsure of its final label is more
often wrong) but not always: some providers return flat or meaningless values, and a
few hundred rows are enough to fit noise. So the log-probability stack is fitted on
the same folds as the plain stack and kept for a stage only when it lowers the
out-of-fold log loss on the rows that carry log-probabilities by more than twice the
standard error of the paired per-row difference (prompts as the unit: copies of a
prompt are one piece of evidence, `bounds`). Rows without log-probabilities keep
the plain stack's scores, as they do at request time (missing is not zero).
"""

from __future__ import annotations

import numpy as np

from langchain_costrouter.calibration.bounds import prompt_deviation
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.groups import renumbered
from langchain_costrouter.calibration.stack import (
    LOGPROB_KEYS,
    fit_stack,
    logprob_design,
    stack_probabilities,
)

MIN_ROWS = 50
"""Rows with log-probabilities a stage needs before the extended stack is tried."""
_Z = 2.0
"""Standard errors by which the out-of-fold gain must exceed zero."""


def carries_logprobs(logprobs: FloatArray) -> FloatArray:
    """Per row, True when its [mean, min] summary is present (no NaN)."""
    return np.asarray(~np.isnan(logprobs).any(axis=1))


def logprob_scores(
    design: FloatArray,
    logprobs: FloatArray,
    labels: FloatArray,
    folds: IntArray,
    base: FloatArray,
    groups: IntArray | None = None,
) -> FloatArray | None:
    """OOF scores using log-probabilities where rows carry them, or None if they don't pay.

    ``base`` are the plain stack's OOF scores of every row; the result equals them on
    rows without a summary. ``groups`` numbers each row's prompt (None: all distinct).
    """
    has = carries_logprobs(logprobs)
    if has.sum() < MIN_ROWS:
        return None
    extended = logprob_design(design[has], logprobs[has])
    held_labels, held_folds = labels[has], folds[has]
    scores = np.zeros(len(held_labels))
    for fold in np.unique(held_folds):
        held, kept = held_folds == fold, held_folds != fold
        if not kept.any():
            return None
        stack = fit_stack(extended[kept], held_labels[kept], LOGPROB_KEYS)
        scores[held] = stack_probabilities(stack, extended[held], LOGPROB_KEYS)
    held_groups = None if groups is None else renumbered(groups[has])
    if not pays_off(base[has], scores, held_labels, held_groups):
        return None
    combined = base.copy()
    combined[has] = scores
    return combined


def fit_logprob_stack(
    design: FloatArray, logprobs: FloatArray, labels: FloatArray
) -> dict[str, float]:
    """The shipped log-probability stack: fitted on every train row that carries a summary."""
    has = carries_logprobs(logprobs)
    return fit_stack(logprob_design(design[has], logprobs[has]), labels[has], LOGPROB_KEYS)


def pays_off(
    base: FloatArray, extended: FloatArray, labels: FloatArray, groups: IntArray | None = None
) -> bool:
    """True when ``extended`` has lower per-row log loss than ``base`` by ``_Z`` standard
    errors, with the rows' prompts (``groups``, None: all distinct) as the unit."""
    gain = _row_log_loss(base, labels) - _row_log_loss(extended, labels)
    if len(gain) < 2:
        return False
    mean = float(gain.mean())
    deviation, prompts = prompt_deviation(gain, mean, groups)
    if prompts < 2:
        return False
    error = deviation / np.sqrt(len(gain))
    return mean > 0.0 and mean > _Z * error


def _row_log_loss(probabilities: FloatArray, labels: FloatArray) -> FloatArray:
    """Per-row logistic loss of probabilities (labels may be soft)."""
    p = np.clip(probabilities, 1e-12, 1 - 1e-12)
    return np.asarray(-(labels * np.log(p) + (1 - labels) * np.log(1 - p)), dtype=np.float64)
