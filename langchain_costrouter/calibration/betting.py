"""A distribution-free lower confidence bound of a bounded mean, by betting.

Graded scores (in [0, 1]) and their paired differences (in [-1, 1]) have no exact
bound of their own, and Student's t cannot see a tail its sample missed: scores near 1
with a few percent near 0 give 15-row samples all near 1 often enough that a t bound
held the true mean in 117 of 200 draws (tests/unit_tests/calibration/test_graded_bounds.py).
This is the predictable plug-in betting bound of Waudby-Smith and Ramdas ("Estimating
means of bounded random variables by betting", JRSS B 2023), one-sided, for a fixed
sample size. A gambler bets on each value in turn that the mean exceeds ``m``; the
capital ``prod(1 + lambda_i * (x_i - m))`` is a nonnegative martingale when the mean is
``m`` (each bet ``lambda_i`` is chosen from the values before it), so by Markov's
inequality it reaches ``1 / alpha`` with probability at most ``alpha``. Every ``m`` at
which it does is rejected, and the bound is the largest rejected ``m``: the capital
falls as ``m`` rises, so bisection finds it. The only assumptions are the values' range
and that they are drawn independently; at 1,000 rows the bound is about 1.5 times as far
below the mean as a t bound (`sqrt(2 log 20) / 1.645`, the price of holding whatever the
distribution), more on skewed scores, where the t bound does not hold.

The capital depends on the order of the bets. The values are sorted (so the bound is a
function of the values alone, never of the order a file has them in, which may be by
score or by date) and then bet in `PERMUTATIONS` seeded pseudo-random orders; the mean
of those capitals has an expectation of at most 1 as each has, so Markov's inequality
holds for it too. At most `MAX_ELEMENTS` values are bet in all orders together, so a
million rows are bet in 2 (at that size an order's luck is a sliver of the width).

Copies of a prompt are one question, not independent rows (`bounds`): the units are the
prompts, each with the mean ``y_j`` of its ``n_j`` rows. The promise is a mean over rows
(the calls drift counts), which weighs a prompt by its copies, and a prompt's number of
copies may go with its quality (popular questions may be easy ones). So each bet is on
``w_j * (y_j - m)`` with ``w_j = n_j / max(n)``: its mean is zero exactly when ``m`` is
the rows' mean, ``E[n y] / E[n]``. The largest prompt of the sample stands in for the
most copies a prompt can have (it scales every bet alike and keeps the capital
nonnegative); with every prompt distinct, or every prompt asked as often, all weights
are 1 and the bound is the per-prompt one.
"""

from __future__ import annotations

import math

import numpy as np

from langchain_costrouter.calibration.features import FloatArray, IntArray

PERMUTATIONS = 8
"""Orders the capital is averaged over: enough that no one order's luck decides."""
MAX_ELEMENTS = 1 << 21
"""Most values bet in all orders together (memory and time): 2 orders of a million."""
CAP = 0.75
"""Largest share of the capital a bet may lose (``lambda <= CAP / m``; the paper's 3/4)."""
_TOLERANCE = 1e-10
_SEED = 0


def betting_lower_bound(
    values: FloatArray,
    confidence: float,
    groups: IntArray | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> float:
    """A one-sided lower bound at ``confidence`` of the rows' mean of ``values``.

    ``values`` lie in ``span``; ``groups`` numbers each row's prompt from 0 with no gaps
    (None: every row its own prompt). Empty ``values`` bound nothing: ``span``'s low end.
    """
    low, high = span
    if len(values) == 0:
        return low
    scaled = (np.asarray(values, dtype=np.float64) - low) / (high - low)
    units, weights = _units(np.clip(scaled, 0.0, 1.0), groups)
    bets = _Bets(units, weights, 1.0 - confidence)
    return low + (high - low) * bets.largest_rejected()


def _units(scaled: FloatArray, groups: IntArray | None) -> tuple[FloatArray, FloatArray]:
    """Per prompt, its rows' mean and its weight ``n_j / max(n)``, in a canonical order."""
    if groups is None:
        means, weights = scaled, np.ones(len(scaled))
    else:
        sizes = np.bincount(groups).astype(np.float64)
        means = np.bincount(groups, weights=scaled) / sizes
        weights = sizes / sizes.max()
    order = np.lexsort((weights, means))
    return means[order], weights[order]


class _Bets:
    """The bets of every order at once; `_excess` prices one candidate mean."""

    def __init__(self, units: FloatArray, weights: FloatArray, alpha: float) -> None:
        count = len(units)
        orders = max(1, min(PERMUTATIONS, MAX_ELEMENTS // count))
        rng = np.random.default_rng(_SEED)
        picks = np.stack([rng.permutation(count) for _ in range(orders)])
        self.weights = weights[picks]
        self.weighted = self.weights * units[picks]
        self.sizes = _plug_in(units[picks], self.weights, math.log(1.0 / alpha))
        self.threshold = math.log(1.0 / alpha) + math.log(orders)
        mean = float(np.sum(weights * units) / np.sum(weights))
        self.mean = min(max(mean, 0.0), 1.0)

    def largest_rejected(self) -> float:
        """The largest candidate mean the capital rejects (0 when it rejects none).

        The bracket keeps ``low`` rejected and ``high`` not, so ``low`` is always a valid
        bound; nothing above the sample's mean is tried, so the bound never exceeds it.
        The next candidate is where the log capital's secant crosses the threshold
        (Illinois: an end kept twice in a row has its excess halved, which makes the
        bracket close from both sides): about 10 pricings of the capital, not bisection's 33.
        """
        low, high = _TOLERANCE, self.mean
        if high <= low:
            return 0.0
        over_low, over_high = self._excess(low), self._excess(high)
        if over_low < 0.0:
            return 0.0
        if over_high >= 0.0:
            return high
        moved = 0  # > 0: low moved that many times in a row; < 0: high did
        while high - low > _TOLERANCE:
            middle = high - over_high * (high - low) / (over_high - over_low)
            if not low < middle < high:
                middle = (low + high) / 2.0
            excess = self._excess(middle)
            if excess >= 0.0:
                low, over_low, moved = middle, excess, max(moved, 0) + 1
                over_high /= 2.0 if moved > 1 else 1.0
            else:
                high, over_high, moved = middle, excess, min(moved, 0) - 1
                over_low /= 2.0 if moved < -1 else 1.0
        return low

    def _excess(self, mean: float) -> float:
        """How far the log of the capital, averaged over the orders, is over ``log(1/alpha)``
        at ``mean``: at or over zero, ``mean`` is rejected."""
        sizes = np.minimum(self.sizes, CAP / mean)
        gains = np.log1p(sizes * (self.weighted - self.weights * mean)).sum(axis=1)
        peak = float(gains.max())
        return peak + math.log(float(np.exp(gains - peak).sum())) - self.threshold


def _plug_in(units: FloatArray, weights: FloatArray, log_odds: float) -> FloatArray:
    """Each bet's size before its cap: ``sqrt(2 log(1/alpha) / (n sigma^2))``.

    ``sigma^2`` is the variance of the bets' outcomes ``w (y - mean)`` over the units
    before this one, started at 1/4 (the most a [0, 1] value can have) as one pseudo
    unit, and the mean likewise at 1/2: the paper's predictable plug-in for a fixed
    number of units ``n``, which sizes the bets for the end of the sample.
    """
    count = units.shape[1]
    seen = np.arange(1, count + 1, dtype=np.float64)
    means = (0.5 + np.cumsum(weights * units, axis=1)) / (1.0 + np.cumsum(weights, axis=1))
    squares = (weights * (units - means)) ** 2
    variances = (0.25 + np.cumsum(squares, axis=1)) / (seen + 1.0)
    before = np.concatenate([np.full((len(units), 1), 0.25), variances[:, :-1]], axis=1)
    return np.asarray(np.sqrt(2.0 * log_odds / (count * before)), dtype=np.float64)
