"""The learned scorer: a logistic regression over hashed (query, answer) features.

FrugalGPT scored answers with a fine-tuned DistilBERT; a linear model over hashed
n-grams is the small, dependency-free version of that idea: it trains in a fraction of
a second with numpy, runs in microseconds, and is stored as JSON (never pickle), so a
policy file is safe to share and to review. An optional second layer stacks the text
score with agreement between tiers, which is what tells a cheap tier's short label
apart from a lucky guess. When calibration found that the answers' token
log-probabilities pay off, a ``logprob_stack`` scores the answers that carry them.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langchain_costrouter.calibration.features import (
    FEATURES_VERSION,
    N_BUCKETS,
    FloatArray,
    IntArray,
    agreement_features,
    feature_lists,
    query_ngrams,
    text_features,
)
from langchain_costrouter.calibration.stack import (
    LOGPROB_KEYS,
    STACK_KEYS,
    logprob_design,
    stack_design,
    stack_probabilities,
)
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary

FeatureCache = dict[tuple[str, str], tuple["SparseRows", int]]
"""Where the features of a (query, answer) pair already are: a matrix and its row.

Shared across a task's models: on short-label tasks most models give the same few
answers, so most pairs were featurised already. It points into the matrices instead
of holding a copy per pair, which at scale would more than double their memory.
"""

L2_CHOICES = (1e-5, 1e-3)
"""Penalties tried per model: weak suits many short-label rows, strong few long answers."""
_STEPS = 60
_LEARNING_RATE = 0.3


@dataclass(frozen=True)
class SparseRows:
    """Rows of hashed features in CSR form (``indptr`` delimits each row)."""

    indptr: IntArray
    indices: IntArray
    values: FloatArray

    @classmethod
    def from_pairs(
        cls, pairs: Sequence[tuple[str, str]], cache: FeatureCache | None = None
    ) -> SparseRows:
        """Featurise (query, answer) pairs; a query's run of answers is tokenised once.

        Rows are appended to flat buffers (no array per pair), and a pair seen before,
        in this call or in ``cache``, is copied from where its row already is.
        """
        known: FeatureCache = {} if cache is None else cache
        indices, values, ends = array("q"), array("d"), array("q", [0])
        added: dict[tuple[str, str], int] = {}
        last_query: str | None = None
        words: set[str] = set()
        for pair in pairs:
            row = added.get(pair)
            if row is not None:
                indices.extend(indices[ends[row] : ends[row + 1]])
                values.extend(values[ends[row] : ends[row + 1]])
            elif pair in known:
                source, at = known[pair]
                span = slice(int(source.indptr[at]), int(source.indptr[at + 1]))
                indices.extend(source.indices[span].tolist())
                values.extend(source.values[span].tolist())
            else:
                if pair[0] != last_query:  # a query's answers come together, if at all
                    last_query, words = pair[0], query_ngrams(pair[0])
                pair_indices, pair_values = feature_lists(*pair, words)
                indices.extend(pair_indices)
                values.extend(pair_values)
                added[pair] = len(ends) - 1
            ends.append(len(indices))
        matrix = cls(
            indptr=np.frombuffer(ends, dtype=np.int64),
            indices=np.frombuffer(indices, dtype=np.int64),
            values=np.frombuffer(values, dtype=np.float64),
        )
        known.update((pair, (matrix, row)) for pair, row in added.items())
        return matrix

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def take(self, rows: IntArray) -> SparseRows:
        """A new matrix with only ``rows`` (in that order)."""
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # Entry k of new row r sits at starts[r] + k: shift a running count by row.
        flat = np.arange(indptr[-1]) + np.repeat(starts - indptr[:-1], lengths)
        return SparseRows(indptr=indptr, indices=self.indices[flat], values=self.values[flat])

    def dot(self, weights: FloatArray) -> FloatArray:
        """Row-wise dot products with a dense weight vector over all buckets."""
        products = weights[self.indices] * self.values
        sums = np.concatenate([[0.0], np.cumsum(products)])
        return np.asarray(sums[self.indptr[1:]] - sums[self.indptr[:-1]], dtype=np.float64)


@dataclass(frozen=True)
class LinearScorer:
    """P(answer is good | query, answer, previous answers) as a JSON-able linear model.

    ``previous`` is the previous tier's text layer (its weights and bias only): the
    stack reads its logit on the previous tier's answer, so a stage can use what the
    lower tier's scorer knew without the router passing scores between checks.

    ``logprob_stack`` (the stack's columns plus the answer's mean and minimum token
    log-probability) scores answers that carry a log-probability summary; an answer
    without one (a deployment that returns none) is scored by ``stack``: a missing
    summary is never read as zero.
    """

    weights: Mapping[int, float]
    bias: float
    stack: Mapping[str, float] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    previous: LinearScorer | None = None
    logprob_stack: Mapping[str, float] | None = None

    def text_logit(self, query: str, answer: str) -> float:
        """The first layer's logit for one pair."""
        indices, values = text_features(query, answer)
        return self.bias + float(
            sum(self.weights.get(int(i), 0.0) * v for i, v in zip(indices, values, strict=True))
        )

    def score(
        self,
        query: str,
        answer: str,
        previous: Sequence[str] = (),
        logprobs: LogprobSummary | None = None,
    ) -> float:
        """The probability in [0, 1] that ``answer`` is good.

        ``logprobs`` is the answer's summary when its message carried one.
        """
        text_logit = self.text_logit(query, answer)
        if self.stack is None:
            return float(_sigmoid(np.array(text_logit)))
        previous_logit = 0.0
        if self.previous is not None and previous:
            previous_logit = self.previous.text_logit(query, previous[-1])
        relations = agreement_features(answer, previous)[None, :]
        design = stack_design(np.array([text_logit]), relations, np.array([previous_logit]))
        if logprobs is not None and self.logprob_stack is not None:
            extended = logprob_design(design, np.array([[logprobs.mean, logprobs.min]]))
            return float(stack_probabilities(self.logprob_stack, extended, LOGPROB_KEYS)[0])
        return float(stack_probabilities(self.stack, design)[0])

    def to_json(self) -> dict[str, Any]:
        """A JSON object: sparse weights keyed by bucket, rounded to 6 significant digits."""
        data = {
            "kind": "hashed-logistic",
            "features_version": FEATURES_VERSION,
            "n_buckets": N_BUCKETS,
            **_text_layer_json(self),
            "stack": None if self.stack is None else {k: _round(v) for k, v in self.stack.items()},
            "meta": dict(self.meta),
        }
        if self.previous is not None:
            data["previous"] = _text_layer_json(self.previous)
        if self.logprob_stack is not None:
            data["logprob_stack"] = {k: _round(v) for k, v in self.logprob_stack.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearScorer:
        """Load `to_json` output; a scorer of another feature layout is a ConfigError.

        Stack keys a file lacks weigh zero, so files from before a key existed load;
        a file without ``logprob_stack`` scores every answer with the plain stack.
        """
        if data.get("kind") != "hashed-logistic" or data.get("n_buckets") != N_BUCKETS:
            raise ConfigError("not a hashed-logistic scorer of this version", key="scorer")
        if data.get("features_version") != FEATURES_VERSION:
            raise ConfigError("scorer features_version differs; re-run calibrate", key="scorer")
        stack = data.get("stack")
        previous = data.get("previous")
        logprob_stack = data.get("logprob_stack")
        return cls(
            weights=_weights_from_json(data["weights"]),
            bias=float(data["bias"]),
            stack=None if stack is None else {k: float(stack.get(k, 0.0)) for k in STACK_KEYS},
            meta=dict(data.get("meta", {})),
            previous=None
            if previous is None
            else cls(weights=_weights_from_json(previous["weights"]), bias=float(previous["bias"])),
            logprob_stack=None
            if logprob_stack is None
            else {k: float(logprob_stack.get(k, 0.0)) for k in LOGPROB_KEYS},
        )


@dataclass(frozen=True)
class FitData:
    """Rows in the compact space of the buckets they use, ready for `fit_text_model`.

    Making it sorts every entry; the search fits each fold at every penalty of
    `L2_CHOICES`, so it prepares a fold once (`prepare_fit`) and fits it at each.
    """

    used: IntArray
    compact: IntArray
    row_of_entry: IntArray
    values: FloatArray
    size: int


def prepare_fit(rows: SparseRows) -> FitData:
    """`FitData` of ``rows``."""
    used, compact = np.unique(rows.indices, return_inverse=True)
    row_of_entry = np.repeat(np.arange(len(rows)), np.diff(rows.indptr))
    return FitData(used, compact, row_of_entry, rows.values, len(rows))


def fit_text_model(
    rows: SparseRows | FitData, labels: FloatArray, l2: float = L2_CHOICES[0]
) -> tuple[FloatArray, float]:
    """L2-regularised logistic regression by full-batch Adam (deterministic).

    Labels may be soft (judge scores in [0, 1]). Works in the compact space of the
    buckets the rows use, then returns dense weights over all buckets and the bias.
    """
    data = rows if isinstance(rows, FitData) else prepare_fit(rows)
    used, compact, row_of_entry, size = data.used, data.compact, data.row_of_entry, data.size
    weights = np.zeros(len(used) + 1)  # the last entry is the bias
    mean = float(labels.mean())
    weights[-1] = np.log((mean + 1e-3) / (1 - mean + 1e-3))
    moment, velocity = np.zeros_like(weights), np.zeros_like(weights)
    for step in range(1, _STEPS + 1):
        logits = np.bincount(row_of_entry, weights[compact] * data.values, minlength=size)
        residual = _sigmoid(logits + weights[-1]) - labels
        grad = np.bincount(compact, residual[row_of_entry] * data.values, minlength=len(used))
        grad = np.append(grad / size + l2 * weights[:-1], residual.mean())
        moment = 0.9 * moment + 0.1 * grad
        velocity = 0.999 * velocity + 0.001 * grad**2
        corrected = moment / (1 - 0.9**step)
        weights -= _LEARNING_RATE * corrected / (np.sqrt(velocity / (1 - 0.999**step)) + 1e-8)
    dense = np.zeros(N_BUCKETS)
    dense[used] = weights[:-1]
    return dense, float(weights[-1])


def scorer_from_dense(
    weights: FloatArray,
    bias: float,
    stack: Mapping[str, float] | None,
    previous: LinearScorer | None = None,
    logprob_stack: Mapping[str, float] | None = None,
) -> LinearScorer:
    """Keep only the buckets the training data touched (all others stayed zero)."""
    nonzero = np.flatnonzero(weights)
    return LinearScorer(
        weights={int(i): float(weights[i]) for i in nonzero},
        bias=bias,
        stack=stack,
        previous=previous,
        logprob_stack=logprob_stack,
    )


def _text_layer_json(scorer: LinearScorer) -> dict[str, Any]:
    return {
        "bias": _round(scorer.bias),
        "weights": {str(i): _round(w) for i, w in sorted(scorer.weights.items())},
    }


def _weights_from_json(weights: Mapping[str, Any]) -> dict[int, float]:
    return {int(i): float(w) for i, w in weights.items()}


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))), dtype=np.float64)


def _round(value: float) -> float:
    return float(f"{value:.6g}")
