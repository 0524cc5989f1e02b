"""The learned scorer: a logistic regression over hashed (query, answer) features.

FrugalGPT scored answers with a fine-tuned DistilBERT; a linear model over hashed
n-grams is the small, dependency-free version of that idea: it trains in a fraction of
a second with numpy, runs in microseconds, and is stored as JSON (never pickle), so a
policy file is safe to share and to review. An optional second layer stacks the text
score with agreement between tiers, which is what tells a cheap tier's short label
apart from a lucky guess.
"""

from __future__ import annotations

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
    query_ngrams,
    text_features,
)
from langchain_costrouter.errors import ConfigError

_L2 = 1e-5
_STEPS = 60
_LEARNING_RATE = 0.3
_STACK_L2 = 1e-2
_STACK_KEYS = ("text", "agree", "disagree", "bias")


@dataclass(frozen=True)
class SparseRows:
    """Rows of hashed features in CSR form (``indptr`` delimits each row)."""

    indptr: IntArray
    indices: IntArray
    values: FloatArray

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]]) -> SparseRows:
        """Featurise (query, answer) pairs; each distinct query is tokenised once."""
        query_words: dict[str, set[str]] = {}
        rows = [
            text_features(query, answer, query_words.setdefault(query, query_ngrams(query)))
            for query, answer in pairs
        ]
        lengths = np.array([len(indices) for indices, _ in rows], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        indices = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, np.int64)
        values = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
        return cls(indptr=indptr, indices=indices.astype(np.int64), values=values)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def take(self, rows: IntArray) -> SparseRows:
        """A new matrix with only ``rows`` (in that order)."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        picks = [np.arange(s, e) for s, e in zip(starts, ends, strict=True)]
        flat = np.concatenate(picks) if picks else np.zeros(0, np.int64)
        indptr = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
        return SparseRows(indptr=indptr, indices=self.indices[flat], values=self.values[flat])

    def dot(self, weights: FloatArray) -> FloatArray:
        """Row-wise dot products with a dense weight vector over all buckets."""
        products = weights[self.indices] * self.values
        sums = np.concatenate([[0.0], np.cumsum(products)])
        return np.asarray(sums[self.indptr[1:]] - sums[self.indptr[:-1]], dtype=np.float64)


@dataclass(frozen=True)
class LinearScorer:
    """P(answer is good | query, answer, previous answers) as a JSON-able linear model."""

    weights: Mapping[int, float]
    bias: float
    stack: Mapping[str, float] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def text_logit(self, query: str, answer: str) -> float:
        """The first layer's logit for one pair."""
        indices, values = text_features(query, answer)
        return self.bias + float(
            sum(self.weights.get(int(i), 0.0) * v for i, v in zip(indices, values, strict=True))
        )

    def score(self, query: str, answer: str, previous: Sequence[str] = ()) -> float:
        """The probability in [0, 1] that ``answer`` is good."""
        return float(
            stacked_probability(self.stack, self.text_logit(query, answer), answer, previous)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON object: sparse weights keyed by bucket, rounded to 6 significant digits."""
        return {
            "kind": "hashed-logistic",
            "features_version": FEATURES_VERSION,
            "n_buckets": N_BUCKETS,
            "bias": _round(self.bias),
            "weights": {str(i): _round(w) for i, w in sorted(self.weights.items())},
            "stack": None if self.stack is None else {k: _round(v) for k, v in self.stack.items()},
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearScorer:
        """Load `to_json` output; a scorer of another feature layout is a ConfigError."""
        if data.get("kind") != "hashed-logistic" or data.get("n_buckets") != N_BUCKETS:
            raise ConfigError("not a hashed-logistic scorer of this version", key="scorer")
        if data.get("features_version") != FEATURES_VERSION:
            raise ConfigError("scorer features_version differs; re-run calibrate", key="scorer")
        stack = data.get("stack")
        return cls(
            weights={int(i): float(w) for i, w in data["weights"].items()},
            bias=float(data["bias"]),
            stack=None if stack is None else {k: float(stack[k]) for k in _STACK_KEYS},
            meta=dict(data.get("meta", {})),
        )


def fit_text_model(rows: SparseRows, labels: FloatArray) -> tuple[FloatArray, float]:
    """L2-regularised logistic regression by full-batch Adam (deterministic).

    Labels may be soft (judge scores in [0, 1]). Works in the compact space of the
    buckets the rows use, then returns dense weights over all buckets and the bias.
    """
    used, compact = np.unique(rows.indices, return_inverse=True)
    row_of_entry = np.repeat(np.arange(len(rows)), np.diff(rows.indptr))
    weights = np.zeros(len(used) + 1)  # the last entry is the bias
    mean = float(labels.mean())
    weights[-1] = np.log((mean + 1e-3) / (1 - mean + 1e-3))
    moment, velocity = np.zeros_like(weights), np.zeros_like(weights)
    for step in range(1, _STEPS + 1):
        logits = np.bincount(row_of_entry, weights[compact] * rows.values, minlength=len(rows))
        residual = _sigmoid(logits + weights[-1]) - labels
        grad = np.bincount(compact, residual[row_of_entry] * rows.values, minlength=len(used))
        grad = np.append(grad / len(rows) + _L2 * weights[:-1], residual.mean())
        moment = 0.9 * moment + 0.1 * grad
        velocity = 0.999 * velocity + 0.001 * grad**2
        corrected = moment / (1 - 0.9**step)
        weights -= _LEARNING_RATE * corrected / (np.sqrt(velocity / (1 - 0.999**step)) + 1e-8)
    dense = np.zeros(N_BUCKETS)
    dense[used] = weights[:-1]
    return dense, float(weights[-1])


def fit_stack(
    text_logits: FloatArray, relations: FloatArray, labels: FloatArray
) -> dict[str, float]:
    """Fit the second layer (text logit, agree, disagree, bias) by Newton's method."""
    design = np.column_stack([text_logits, relations, np.ones(len(labels))])
    coef = np.array([1.0, 0.0, 0.0, 0.0])
    for _ in range(25):
        prob = _sigmoid(design @ coef)
        hessian = design.T @ (design * (prob * (1 - prob))[:, None]) + _STACK_L2 * np.eye(4)
        coef -= np.linalg.solve(hessian, design.T @ (prob - labels) + _STACK_L2 * coef)
    return dict(zip(_STACK_KEYS, (float(c) for c in coef), strict=True))


def stacked_probability(
    stack: Mapping[str, float] | None, text_logit: float, answer: str, previous: Sequence[str]
) -> float:
    """The final probability: the text logit alone, or stacked with agreement."""
    if stack is None:
        return float(_sigmoid(np.array(text_logit)))
    agree, disagree = agreement_features(answer, previous)
    logit = (
        stack["text"] * text_logit
        + stack["agree"] * agree
        + stack["disagree"] * disagree
        + stack["bias"]
    )
    return float(_sigmoid(np.array(logit)))


def scorer_from_dense(
    weights: FloatArray, bias: float, stack: Mapping[str, float] | None
) -> LinearScorer:
    """Keep only the buckets the training data touched (all others stayed zero)."""
    nonzero = np.flatnonzero(weights)
    return LinearScorer(
        weights={int(i): float(weights[i]) for i in nonzero}, bias=bias, stack=stack
    )


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))), dtype=np.float64)


def _round(value: float) -> float:
    return float(f"{value:.6g}")
