"""Out-of-fold stage scores: what each acceptance rule would have said on unseen data.

Thresholds chosen on in-sample scores overfit: a scorer that has seen a question is
sure about it, so a cascade tuned that way escalates too little and loses accuracy on
new traffic. Every score the search looks at is therefore out-of-fold: the model that
scores a train row never saw that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import (
    FloatArray,
    IntArray,
    answer_key,
    keys_agreement,
    query_text,
)
from langchain_costrouter.calibration.scorer import (
    LinearScorer,
    SparseRows,
    fit_stack,
    fit_text_model,
    scorer_from_dense,
)


def fold_ids(size: int, folds: int, seed: int) -> IntArray:
    """Deterministic fold number of every row."""
    return np.asarray(np.random.default_rng(seed).permutation(size) % folds, dtype=np.int64)


@dataclass
class StageScores:
    """Lazily computed OOF scores of one task's models (tiers sorted by cost)."""

    matrix: OutcomeMatrix
    folds: IntArray
    _rows: dict[int, SparseRows] = field(default_factory=dict)
    _logits: dict[int, FloatArray] = field(default_factory=dict)
    _keys: dict[int, list[str | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, matrix: OutcomeMatrix, folds: int, seed: int) -> StageScores:
        return cls(matrix=matrix, folds=fold_ids(len(matrix.records), folds, seed))

    def rows(self, model: int) -> SparseRows:
        """Hashed (query, answer) features of one model's answers."""
        if model not in self._rows:
            queries = [
                query_text(m["content"] for m in record.messages) for record in self.matrix.records
            ]
            pairs = list(zip(queries, self.matrix.answers(model), strict=True))
            self._rows[model] = SparseRows.from_pairs(pairs)
        return self._rows[model]

    def text_logits(self, model: int) -> FloatArray:
        """OOF first-layer logits of one model's answers."""
        if model not in self._logits:
            rows, labels = self.rows(model), self.matrix.quality[:, model]
            logits = np.zeros(len(labels))
            for fold in np.unique(self.folds):
                held = np.flatnonzero(self.folds == fold)
                kept = np.flatnonzero(self.folds != fold)
                weights, bias = fit_text_model(rows.take(kept), labels[kept])
                logits[held] = rows.take(held).dot(weights) + bias
            self._logits[model] = logits
        return self._logits[model]

    def first_stage(self, model: int) -> FloatArray:
        """OOF scorer probabilities of a cascade's first tier (no previous answers)."""
        return _sigmoid(self.text_logits(model))

    def agreement(self, model: int, previous: int) -> FloatArray:
        """[agree, disagree] indicators of ``model``'s answers against ``previous``'s."""
        keys, previous_keys = self.keys(model), self.keys(previous)
        return np.array([keys_agreement(k, p) for k, p in zip(keys, previous_keys, strict=True)])

    def later_stage(self, model: int, previous: int) -> FloatArray:
        """OOF probabilities of a later tier: text logit stacked with agreement."""
        logits, relations = self.text_logits(model), self.agreement(model, previous)
        labels = self.matrix.quality[:, model]
        scores = np.zeros(len(labels))
        for fold in np.unique(self.folds):
            held, kept = self.folds == fold, self.folds != fold
            stack = fit_stack(logits[kept], relations[kept], labels[kept])
            design = np.column_stack([logits[held], relations[held], np.ones(held.sum())])
            coef = np.array([stack["text"], stack["agree"], stack["disagree"], stack["bias"]])
            scores[held] = _sigmoid(design @ coef)
        return scores

    def keys(self, model: int) -> list[str | None]:
        """Agreement keys (short label or final number) of one model's answers."""
        if model not in self._keys:
            self._keys[model] = [answer_key(text) for text in self.matrix.answers(model)]
        return self._keys[model]

    def final_scorer(self, model: int, previous: int | None) -> LinearScorer:
        """The scorer shipped in the policy: trained on every train row.

        The stacking layer is fitted on OOF logits, because at run time the text model
        meets questions it never saw, just like a held-out fold.
        """
        weights, bias = fit_text_model(self.rows(model), self.matrix.quality[:, model])
        stack = None
        if previous is not None:
            stack = fit_stack(
                self.text_logits(model),
                self.agreement(model, previous),
                self.matrix.quality[:, model],
            )
        return scorer_from_dense(weights, bias, stack)


def threshold_grid(scores: FloatArray, size: int) -> FloatArray:
    """Candidate thresholds: score quantiles, plus accept-all and accept-none."""
    quantiles = np.quantile(scores, np.linspace(0.0, 1.0, size))
    return np.unique(np.concatenate([[0.0, 1.0 + 1e-9], quantiles]))


def accept_masks(scores: FloatArray, thresholds: Sequence[float] | FloatArray) -> FloatArray:
    """1.0 where a row's score reaches a threshold: [thresholds, rows]."""
    return (scores[None, :] >= np.asarray(thresholds)[:, None]).astype(np.float64)


def _sigmoid(logits: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30))), dtype=np.float64)
