"""The learned scorer's first layer in training: hashed rows and their logistic fit.

Calibration featurises every (query, answer) pair into `SparseRows` (CSR, sharing the
rows of pairs seen before) and fits the text layer by full-batch Adam in the compact
space of the buckets the rows use (`prepare_fit`, `fit_text_model`); batch replay
scores a test split through the same rows. What the fit gives is kept, and read at
request time, as a `LinearScorer` (`calibration/scorer.py`), which never needs these.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from langchain_costrouter.calibration.features import (
    N_BUCKETS,
    FloatArray,
    IntArray,
    feature_lists,
    query_ngrams,
)
from langchain_costrouter.calibration.stack import sigmoid

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
        residual = sigmoid(logits + weights[-1]) - labels
        grad = np.bincount(compact, residual[row_of_entry] * data.values, minlength=len(used))
        grad = np.append(grad / size + l2 * weights[:-1], residual.mean())
        moment = 0.9 * moment + 0.1 * grad
        velocity = 0.999 * velocity + 0.001 * grad**2
        corrected = moment / (1 - 0.9**step)
        weights -= _LEARNING_RATE * corrected / (np.sqrt(velocity / (1 - 0.999**step)) + 1e-8)
    dense = np.zeros(N_BUCKETS)
    dense[used] = weights[:-1]
    return dense, float(weights[-1])
