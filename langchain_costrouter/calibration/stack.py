"""The scorer's second layer: a small logistic model over what the tiers said so far.

The first layer reads text; this layer combines its logit with agreement between the
candidate answer and the previous tier's, and with the previous tier's own text logit
on each side of that agreement. The last pair is what lets a nearly free witness help:
a cheap tier that always answers "Yes" still has a scorer that knows when "Yes" is
right, so a later tier's "No" that contradicts a confident "Yes" is suspect, and a
"Yes" that agrees with it is safe. Without a previous tier those columns are zero and
the layer only recalibrates the text logit into a probability, so thresholds are
comparable across stages.

When the answers carry token log-probabilities (`langchain_costrouter.logprobs`), a
second stack over the same columns plus the answer's mean and minimum log-probability
may be fitted (`logprob_stage` decides whether it pays off); it scores only answers
that carry a summary, and the plain stack scores the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from langchain_costrouter.calibration.features import FloatArray

STACK_KEYS = ("text", "agree", "disagree", "previous_agree", "previous_disagree", "bias")
LOGPROB_KEYS = (*STACK_KEYS, "logprob_mean", "logprob_min")
_LOGPROB_FLOORS = (-10.0, -30.0)
"""Clip the mean and the minimum here: one absurd token must not dominate the fit."""
_L2 = 1.0
_NEWTON_STEPS = 30
_MIN_STEP = 1e-4
_CONVERGED = 1e-9


def stack_design(
    text_logits: FloatArray, relations: FloatArray, previous_logits: FloatArray
) -> FloatArray:
    """Design matrix [rows, STACK_KEYS] from per-row logits and [agree, disagree] columns."""
    agree, disagree = relations[:, 0], relations[:, 1]
    return np.column_stack(
        [
            text_logits,
            agree,
            disagree,
            previous_logits * agree,
            previous_logits * disagree,
            np.ones(len(text_logits)),
        ]
    )


def logprob_design(design: FloatArray, logprobs: FloatArray) -> FloatArray:
    """``design`` with the clipped [mean, min] log-probability columns (no NaN allowed)."""
    clipped = np.maximum(logprobs, np.array(_LOGPROB_FLOORS)[None, :])
    return np.column_stack([design, clipped])


def fit_stack(
    design: FloatArray, labels: FloatArray, keys: tuple[str, ...] = STACK_KEYS
) -> dict[str, float]:
    """L2-penalised logistic regression by damped Newton steps.

    Plain Newton diverges when a column separates the labels (agreement often does
    on a train split); halving the step until the penalised loss falls keeps the
    coefficients finite, and the penalty keeps them modest.
    """
    coef = np.zeros(design.shape[1])
    coef[0] = 1.0
    loss = _penalised_loss(design, labels, coef)
    for _ in range(_NEWTON_STEPS):
        prob = sigmoid(design @ coef)
        hessian = design.T @ (design * (prob * (1 - prob))[:, None]) + _L2 * np.eye(len(coef))
        step = np.linalg.solve(hessian, design.T @ (prob - labels) + _L2 * coef)
        candidate, new_loss, size = coef - step, loss, 1.0
        while size >= _MIN_STEP:
            candidate = coef - size * step
            new_loss = _penalised_loss(design, labels, candidate)
            if new_loss <= loss:
                break
            size /= 2
        if new_loss > loss:
            break
        coef, improvement, loss = candidate, loss - new_loss, new_loss
        if improvement < _CONVERGED:
            break
    return dict(zip(keys, (float(c) for c in coef), strict=True))


def stack_probabilities(
    stack: Mapping[str, float], design: FloatArray, keys: tuple[str, ...] = STACK_KEYS
) -> FloatArray:
    """Probabilities of design rows under a fitted stack (absent keys weigh zero)."""
    coef = np.array([stack.get(key, 0.0) for key in keys])
    return sigmoid(design @ coef)


def _penalised_loss(design: FloatArray, labels: FloatArray, coef: FloatArray) -> float:
    logits = design @ coef
    return float(np.sum(np.logaddexp(0.0, logits) - labels * logits) + 0.5 * _L2 * coef @ coef)


def sigmoid(x: FloatArray) -> FloatArray:
    """The logistic function, clipped so that no logit overflows ``exp``."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))), dtype=np.float64)
