"""Each model's text layer fitted out of fold: per fold, per penalty, and their mean.

The first layer of a learned scorer reads hashed (query, answer) features; it is fitted
here once per fold on the other folds' rows (`_text_fit` fits it), at every penalty,
and the penalty with the lowest OOF log-loss is kept: its OOF logits, and the mean of
its fold fits, the layer a policy ships. `StageScores` (calibration/oof.py) stacks
these logits into each cascade stage's scores and says why the shipped layer is the
mean; `parallel` runs `best_fit` in worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from langchain_costrouter.calibration._outcome_matrix import OutcomeMatrix
from langchain_costrouter.calibration._text_fit import (
    L2_CHOICES,
    FeatureCache,
    SparseRows,
    fit_text_model,
    prepare_fit,
)
from langchain_costrouter.calibration.features import N_BUCKETS, FloatArray, IntArray
from langchain_costrouter.calibration.groups import fold_groups

TextFit = tuple[FloatArray, tuple[FloatArray, float]]
"""A model's OOF text logits, and its bagged text layer (dense weights, bias)."""

FIT_ROWS = 30_000
"""Most rows one fold's text layer is fitted on; a larger fold fits on an even sample.

A fit's time and memory grow with its rows, and past a few tens of thousands of
hashed rows the layer's held-out loss barely moves, while a million-row set would
spend most of its calibration here. Every row is still scored out of fold, so the
loss bound the search proves is as valid with the sample as without it.
"""


def fold_ids(keys: Sequence[str], folds: int, seed: int) -> IntArray:
    """Deterministic fold number of every row, given its prompt key (`groups.fold_groups`).

    Copies of a prompt share a fold: a text layer fitted on a copy would remember the
    held row's prompt, and its OOF score would be an in-sample one.
    """
    return fold_groups(keys, folds, seed)


@dataclass
class OOFTextLayers:
    """Each model's OOF text logits and bagged text layer, fitted lazily; the base of
    `StageScores`, not used on its own."""

    matrix: OutcomeMatrix
    folds: IntArray
    _logits: dict[int, FloatArray] = field(default_factory=dict)
    _bagged: dict[int, tuple[FloatArray, float]] = field(default_factory=dict)
    _features: FeatureCache = field(default_factory=dict)

    def rows(self, model: int) -> SparseRows:
        """Hashed (query, answer) features of one model's answers (not kept: one fit reads them)."""
        queries = self.matrix.query_texts()
        pairs = list(zip(queries, self.matrix.answers(model), strict=True))
        return SparseRows.from_pairs(pairs, self._features)

    def forget_features(self) -> None:
        """Drop the feature rows the fits so far kept (`parallel`'s workers, between models).

        The cache saves featurising a pair twice across models, but it keeps every
        model's rows alive; a worker that fits several models of a large task would
        hold them all at once.
        """
        self._features.clear()

    def text_logits(self, model: int) -> FloatArray:
        """OOF first-layer logits of one model's answers, at its best penalty.

        The penalty is picked per model by OOF log-loss: thousands of short labels
        want a weak one, eighty long chat answers a strong one.
        """
        if model not in self._logits:
            self.keep_fit(model, self.best_fit(model))
        return self._logits[model]

    def best_fit(self, model: int) -> TextFit:
        """`text_logits`'s work for one model, not kept (`parallel` runs it in a worker)."""
        fits = self._fold_fits(model)
        labels = self.matrix.quality[:, model]
        return min(fits, key=lambda fit: _log_loss(fit[0], labels))

    def keep_fit(self, model: int, fit: TextFit) -> None:
        """Keep a `best_fit` result as the model's text layer."""
        self._logits[model], self._bagged[model] = fit

    def has_fit(self, model: int) -> bool:
        return model in self._logits

    def _fold_fits(self, model: int) -> list[TextFit]:
        """Per penalty of `L2_CHOICES`: OOF logits and the mean of the fold models.

        Each fold's rows are prepared once and fitted at every penalty.
        """
        rows, labels = self.rows(model), self.matrix.quality[:, model]
        logits = [np.zeros(len(labels)) for _ in L2_CHOICES]
        bagged = [np.zeros(N_BUCKETS) for _ in L2_CHOICES]
        bias = [0.0 for _ in L2_CHOICES]
        folds = np.unique(self.folds)
        for fold in folds:
            held = np.flatnonzero(self.folds == fold)
            kept = fit_sample(np.flatnonzero(self.folds != fold))
            prepared, held_rows = prepare_fit(rows.take(kept)), rows.take(held)
            for choice, l2 in enumerate(L2_CHOICES):
                weights, fold_bias = fit_text_model(prepared, labels[kept], l2)
                logits[choice][held] = held_rows.dot(weights) + fold_bias
                bagged[choice] += weights
                bias[choice] += fold_bias
        return [
            (logits[c], (bagged[c] / len(folds), bias[c] / len(folds)))
            for c in range(len(L2_CHOICES))
        ]


def fit_sample(rows: IntArray, limit: int = FIT_ROWS) -> IntArray:
    """At most ``limit`` of ``rows``, evenly spaced (so a file sorted by time is spanned)."""
    if len(rows) <= limit:
        return rows
    return rows[np.linspace(0, len(rows) - 1, limit).astype(np.int64)]


def _log_loss(logits: FloatArray, labels: FloatArray) -> float:
    """Mean logistic loss (labels may be soft)."""
    return float(np.mean(np.logaddexp(0.0, logits) - labels * logits))
