"""One-sided confidence bounds on a cascade's quality loss against the baseline.

Calibration promises "at most this much quality lost, at this confidence". The loss
is paired over questions: ``d_i = baseline_i - cascade_i``, and its mean is what the
promise bounds. Scores of 0/1 get an exact bound: only the questions where the two
disagree carry information (McNemar), and among those the share the baseline wins is
bounded with Clopper-Pearson. Graded scores get Student's t on the paired differences.
Both are computed with numpy alone (no SciPy dependency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from langchain_costrouter.calibration.features import FloatArray

_BISECTION_STEPS = 60


@dataclass(frozen=True)
class LossBound:
    """The paired loss of a cascade on held-back questions and its upper bound."""

    loss: float
    upper: float
    size: int
    disagreements: int


def loss_upper_bound(baseline: FloatArray, cascade: FloatArray, confidence: float) -> LossBound:
    """Mean of ``baseline - cascade`` and its one-sided upper bound at ``confidence``."""
    diff = np.asarray(baseline, dtype=np.float64) - np.asarray(cascade, dtype=np.float64)
    size = len(diff)
    disagreements = int(np.count_nonzero(diff))
    loss = float(diff.mean()) if size else 0.0
    if size == 0:
        return LossBound(loss=0.0, upper=math.inf, size=0, disagreements=0)
    if _is_binary(baseline) and _is_binary(cascade):
        upper = _exact_binary_upper(diff, confidence)
    else:
        upper = _student_upper(diff, confidence)
    return LossBound(loss=loss, upper=upper, size=size, disagreements=disagreements)


def _is_binary(scores: FloatArray) -> bool:
    return bool(np.all((scores == 0.0) | (scores == 1.0)))


def _exact_binary_upper(diff: FloatArray, confidence: float) -> float:
    """McNemar-style: ``(m/n)(2p - 1)`` with ``p`` the Clopper-Pearson upper bound."""
    losses = int(np.count_nonzero(diff > 0))
    discordant = int(np.count_nonzero(diff))
    if discordant == 0:
        return 0.0
    share = clopper_pearson_upper(losses, discordant, confidence)
    return discordant / len(diff) * (2.0 * share - 1.0)


def clopper_pearson_upper(successes: int, trials: int, confidence: float) -> float:
    """The exact one-sided upper bound of a binomial share, by bisection on its CDF."""
    if successes >= trials:
        return 1.0
    alpha = 1.0 - confidence
    low, high = successes / trials, 1.0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2.0
        if binomial_cdf(successes, trials, middle) > alpha:
            low = middle
        else:
            high = middle
    return high


def binomial_cdf(successes: int, trials: int, share: float) -> float:
    """P(X <= successes) for X ~ Binomial(trials, share), summed in log space."""
    if share <= 0.0:
        return 1.0
    if share >= 1.0:
        return 1.0 if successes >= trials else 0.0
    k = np.arange(successes + 1, dtype=np.float64)
    log_choose = (
        math.lgamma(trials + 1)
        - np.vectorize(math.lgamma)(k + 1)
        - np.vectorize(math.lgamma)(trials - k + 1)
    )
    terms = log_choose + k * math.log(share) + (trials - k) * math.log1p(-share)
    peak = float(terms.max())
    return float(min(1.0, math.exp(peak) * np.exp(terms - peak).sum()))


def _student_upper(diff: FloatArray, confidence: float) -> float:
    size = len(diff)
    if size < 2:
        return math.inf
    spread = float(diff.std(ddof=1)) / math.sqrt(size)
    return float(diff.mean()) + student_quantile(confidence, size - 1) * spread


def student_quantile(confidence: float, dof: int) -> float:
    """Student's t quantile (Cornish-Fisher expansion of the normal one; exact to ~1e-4)."""
    z = normal_quantile(confidence)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384.0
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3


def normal_quantile(confidence: float) -> float:
    """The standard normal quantile, by bisection on ``erf`` (no SciPy)."""
    low, high = -10.0, 10.0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2.0
        if 0.5 * (1.0 + math.erf(middle / math.sqrt(2.0))) < confidence:
            low = middle
        else:
            high = middle
    return high


def mean_interval(values: FloatArray, confidence: float) -> tuple[float, float]:
    """A two-sided Student t interval of the mean of ``values`` (one row each)."""
    size = len(values)
    if size == 0:
        return (0.0, 0.0)
    mean = float(np.mean(values))
    if size < 2:
        return (mean, mean)
    half = student_quantile(0.5 + confidence / 2.0, size - 1) * float(np.std(values, ddof=1))
    return (mean - half / math.sqrt(size), mean + half / math.sqrt(size))


def saving_interval(
    cascade_cost: FloatArray, baseline_cost: FloatArray, confidence: float, seed: int
) -> tuple[float, float]:
    """A two-sided paired-bootstrap interval of the saving share ``1 - cost/baseline``."""
    size = len(cascade_cost)
    if size == 0 or float(baseline_cost.sum()) <= 0.0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    ratios = np.concatenate(
        [_resampled_savings(cascade_cost, baseline_cost, rng) for _ in range(8)]
    )
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return (float(low), float(high))


def _resampled_savings(
    cascade_cost: FloatArray, baseline_cost: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """50 bootstrap resamples at a time, so memory stays at 50 x rows indices."""
    picks = rng.integers(0, len(cascade_cost), size=(50, len(cascade_cost)))
    spent, reference = cascade_cost[picks].sum(axis=1), baseline_cost[picks].sum(axis=1)
    return np.asarray(1.0 - spent / np.maximum(reference, 1e-300), dtype=np.float64)
