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

from langchain_costrouter.calibration._text_fit import (
    L2_CHOICES,
    FeatureCache,
    SparseRows,
    fit_text_model,
    prepare_fit,
)
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import (
    N_BUCKETS,
    FloatArray,
    IntArray,
    answer_key,
    keys_agreement,
)
from langchain_costrouter.calibration.groups import fold_groups
from langchain_costrouter.calibration.logprob_stage import (
    carries_logprobs,
    fit_logprob_stack,
    logprob_scores,
)
from langchain_costrouter.calibration.scorer import LinearScorer, scorer_from_dense
from langchain_costrouter.calibration.stack import (
    LOGPROB_KEYS,
    fit_stack,
    logprob_design,
    stack_design,
    stack_probabilities,
)

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
class StageScores:
    """Lazily computed OOF scores of one task's models (tiers sorted by cost).

    Each model's text layer is fitted once per fold; the layer shipped in the policy
    is the mean of those fold models, so run-time logits follow about the distribution
    of the OOF logits the thresholds were chosen on (a model refitted on all rows is
    more confident, and would accept more than the search planned for). Not exactly:
    the mean of five fits is less noisy than one, so a threshold far in a tail (near
    1e-5) accepts more of new questions than of the OOF rows: 96.5% against 94.0% for
    seed 16 of tests/unit_tests/calibration/test_saving_interval.py's equally good
    models, whose promised saving it leaves about a point short.
    """

    matrix: OutcomeMatrix
    folds: IntArray
    _logits: dict[int, FloatArray] = field(default_factory=dict)
    _bagged: dict[int, tuple[FloatArray, float]] = field(default_factory=dict)
    _keys: dict[int, list[str | None]] = field(default_factory=dict)
    _stages: dict[tuple[int, int | None], FloatArray] = field(default_factory=dict)
    _with_logprobs: set[tuple[int, int | None]] = field(default_factory=set)
    _shipped: dict[tuple[int, int | None], tuple[dict[str, float], dict[str, float] | None]] = (
        field(default_factory=dict)
    )
    _features: FeatureCache = field(default_factory=dict)

    @classmethod
    def of(cls, matrix: OutcomeMatrix, folds: int, seed: int) -> StageScores:
        return cls(matrix=matrix, folds=fold_ids(matrix.prompt_keys(), folds, seed))

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

    def first_stage(self, model: int) -> FloatArray:
        """OOF probabilities of a cascade's first tier (no previous answers)."""
        return self.stage(model, None)

    def later_stage(self, model: int, previous: int) -> FloatArray:
        """OOF probabilities of a later tier, stacked with what the previous tier said."""
        return self.stage(model, previous)

    def stage(self, model: int, previous: int | None) -> FloatArray:
        """OOF stacked probabilities: each fold's stack is fitted on the other folds.

        Where the answers carry token log-probabilities and the log-probability stack
        lowers the OOF loss (`logprob_stage`), its scores replace the plain ones on
        those rows, and the shipped scorer gets that stack too.
        """
        key = (model, previous)
        if key not in self._stages:
            design, labels = self.design(model, previous), self.matrix.quality[:, model]
            scores = np.zeros(len(labels))
            for fold in np.unique(self.folds):
                held, kept = self.folds == fold, self.folds != fold
                stack = fit_stack(design[kept], labels[kept])
                scores[held] = stack_probabilities(stack, design[held])
            logprobs = self.matrix.answer_logprobs(model)
            groups = self.matrix.prompt_groups
            extended = logprob_scores(design, logprobs, labels, self.folds, scores, groups)
            if extended is not None:
                scores = extended
                self._with_logprobs.add(key)
            self._stages[key] = scores
        return self._stages[key]

    def uses_logprobs(self, model: int, previous: int | None) -> bool:
        """Whether the stage's OOF scores (and shipped scorer) use log-probabilities."""
        self.stage(model, previous)
        return (model, previous) in self._with_logprobs

    def design(self, model: int, previous: int | None) -> FloatArray:
        """The stack's inputs for one stage over every train row."""
        logits = self.text_logits(model)
        if previous is None:
            zeros = np.zeros(len(logits))
            return stack_design(logits, np.zeros((len(logits), 2)), zeros)
        relations = self.agreement(model, previous)
        return stack_design(logits, relations, self.text_logits(previous))

    def agreement(self, model: int, previous: int) -> FloatArray:
        """[agree, disagree] indicators of ``model``'s answers against ``previous``'s."""
        keys, previous_keys = self.keys(model), self.keys(previous)
        return np.array([keys_agreement(k, p) for k, p in zip(keys, previous_keys, strict=True)])

    def keys(self, model: int) -> list[str | None]:
        """Agreement keys (short label or final number) of one model's answers."""
        if model not in self._keys:
            self._keys[model] = [answer_key(text) for text in self.matrix.answers(model)]
        return self._keys[model]

    def final_scorer(self, model: int, previous: int | None) -> LinearScorer:
        """The scorer shipped in the policy: bagged fold text layers, stack on all OOF rows."""
        self.text_logits(model)
        weights, bias = self._bagged[model]
        stack, logprob_stack = self._final_stacks(model, previous)
        previous_layer = None
        if previous is not None:
            self.text_logits(previous)
            previous_layer = scorer_from_dense(*self._bagged[previous], stack=None)
        return scorer_from_dense(weights, bias, stack, previous_layer, logprob_stack)

    def shipped_stage(self, model: int, previous: int | None) -> FloatArray:
        """What the shipped scorer's stacks say of every train row, from its OOF text logits.

        `stage` scores each fold with a stack fitted on the other folds; the policy ships
        one stack fitted on all rows (`final_scorer`). Where a threshold sits in a tail
        of the scores (wrong answers a sure scorer puts near 1e-5), the two accept
        different shares: on four equally good models the fold stacks accepted 97% of
        the train rows and the shipped scorer 93% of new ones. New rows' bagged text
        logits follow the OOF logits' law, so these scores are what the shipped policy
        would do on rows like them: the promised saving is measured on them.
        """
        design = self.design(model, previous)
        stack, logprob_stack = self._final_stacks(model, previous)
        scores = stack_probabilities(stack, design)
        if logprob_stack is not None:
            logprobs = self.matrix.answer_logprobs(model)
            has = carries_logprobs(logprobs)
            extended = logprob_design(design[has], logprobs[has])
            scores[has] = stack_probabilities(logprob_stack, extended, LOGPROB_KEYS)
        return scores

    def _final_stacks(
        self, model: int, previous: int | None
    ) -> tuple[dict[str, float], dict[str, float] | None]:
        """The shipped stack of a stage and its log-probability stack (None: not used)."""
        key = (model, previous)
        if key not in self._shipped:
            design, labels = self.design(model, previous), self.matrix.quality[:, model]
            logprob_stack = None
            if self.uses_logprobs(model, previous):
                logprobs = self.matrix.answer_logprobs(model)
                logprob_stack = fit_logprob_stack(design, logprobs, labels)
            self._shipped[key] = (fit_stack(design, labels), logprob_stack)
        return self._shipped[key]


def fit_sample(rows: IntArray, limit: int = FIT_ROWS) -> IntArray:
    """At most ``limit`` of ``rows``, evenly spaced (so a file sorted by time is spanned)."""
    if len(rows) <= limit:
        return rows
    return rows[np.linspace(0, len(rows) - 1, limit).astype(np.int64)]


def threshold_grid(scores: FloatArray, size: int) -> FloatArray:
    """Candidate thresholds: score quantiles, plus accept-all and accept-none."""
    quantiles = np.quantile(scores, np.linspace(0.0, 1.0, size))
    return np.unique(np.concatenate([[0.0, 1.0 + 1e-9], quantiles]))


def accept_masks(scores: FloatArray, thresholds: Sequence[float] | FloatArray) -> FloatArray:
    """1.0 where a row's score reaches a threshold: [thresholds, rows]."""
    return (scores[None, :] >= np.asarray(thresholds)[:, None]).astype(np.float64)


def _log_loss(logits: FloatArray, labels: FloatArray) -> float:
    """Mean logistic loss (labels may be soft)."""
    return float(np.mean(np.logaddexp(0.0, logits) - labels * logits))
