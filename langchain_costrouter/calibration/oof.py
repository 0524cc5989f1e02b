"""Out-of-fold stage scores: what each acceptance rule would have said on unseen data.

Thresholds chosen on in-sample scores overfit: a scorer that has seen a question is
sure about it, so a cascade tuned that way escalates too little and loses accuracy on
new traffic. Every score the search looks at is therefore out-of-fold: the model that
scores a train row never saw that row.

Each model's text layer is fitted per fold by `OOFTextLayers` (its own module,
calibration/_oof_text_layer.py); `StageScores` builds on it, stacking those logits into
each stage's scores and building the scorer a policy ships. The thresholds a stage
tries and the rows each accepts are here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from langchain_costrouter.calibration._oof_text_layer import FIT_ROWS as FIT_ROWS
from langchain_costrouter.calibration._oof_text_layer import OOFTextLayers
from langchain_costrouter.calibration._oof_text_layer import TextFit as TextFit
from langchain_costrouter.calibration._oof_text_layer import fit_sample as fit_sample
from langchain_costrouter.calibration._oof_text_layer import fold_ids as fold_ids
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.calibration.features import FloatArray, answer_key
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


@dataclass
class StageScores(OOFTextLayers):
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

    _keys: dict[int, list[str | None]] = field(default_factory=dict)
    _agreements: dict[tuple[int, int], FloatArray] = field(default_factory=dict)
    _stages: dict[tuple[int, int | None], FloatArray] = field(default_factory=dict)
    _with_logprobs: set[tuple[int, int | None]] = field(default_factory=set)
    _shipped: dict[tuple[int, int | None], tuple[dict[str, float], dict[str, float] | None]] = (
        field(default_factory=dict)
    )

    @classmethod
    def of(cls, matrix: OutcomeMatrix, folds: int, seed: int) -> StageScores:
        return cls(matrix=matrix, folds=fold_ids(matrix.prompt_keys(), folds, seed))

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
        """[agree, disagree] indicators of ``model``'s answers against ``previous``'s (read-only).

        Kept per pair of models: the guarded search asks each pair's once per cascade and
        fold (OVERRULING: 1,377 asks of 1,080 rows, a small array per row, 3 s of 27).
        """
        if (model, previous) not in self._agreements:
            pairs = zip(self.keys(model), self.keys(previous), strict=True)
            flat = [value for key, other in pairs for value in _agreement_pair(key, other)]
            relations = np.array(flat, dtype=np.float64).reshape(-1, 2)
            relations.flags.writeable = False
            self._agreements[(model, previous)] = relations
        return self._agreements[(model, previous)]

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


def _agreement_pair(key: str | None, previous_key: str | None) -> tuple[float, float]:
    """`features.keys_agreement` as floats, not a small array per row."""
    if key is None or previous_key is None:
        return (0.0, 0.0)
    return (float(key == previous_key), float(key != previous_key))


def threshold_grid(scores: FloatArray, size: int) -> FloatArray:
    """Candidate thresholds: score quantiles, plus accept-all and accept-none."""
    quantiles = np.quantile(scores, np.linspace(0.0, 1.0, size))
    return np.unique(np.concatenate([[0.0, 1.0 + 1e-9], quantiles]))


def accept_masks(scores: FloatArray, thresholds: Sequence[float] | FloatArray) -> FloatArray:
    """1.0 where a row's score reaches a threshold: [thresholds, rows]."""
    return (scores[None, :] >= np.asarray(thresholds)[:, None]).astype(np.float64)
