"""One-sided confidence bounds on a cascade's quality loss against the baseline.

Calibration promises "at most this much quality lost, at this confidence". The loss
is paired over questions: ``d_i = baseline_i - cascade_i``, and its mean is what the
promise bounds. Scores of 0/1 get an exact bound: the loss is the share of questions the
cascade loses less the share it wins, so the bound is Clopper-Pearson's upper bound of
the losses' share less its lower bound of the wins' share, the two errors' chances
adding up to one minus the confidence (a union bound, `LOSS_SIDE`). McNemar's bound,
conditional on the number of disagreements, took their observed rate as known and held
a loss of 1 point (every disagreement a loss) in about half the draws
(tests/unit_tests/calibration/test_binary_loss_coverage.py). Graded scores get a betting
bound on the paired differences (`betting`, in [-1, 1]): distribution-free, so a loss
that is rare and large, which a small sample may miss altogether, cannot slip under it
as it did under Student's t (held in 120 of 200 draws of 15 questions). Both are computed
with numpy alone (no SciPy dependency). Neither is 0 when every difference is: no loss
seen in a few hundred questions does not prove there is none (with none seen in ``n``
questions the 0/1 bound is ``1 - (alpha LOSS_SIDE)^(1/n)``, about ``3.2 / n``).

Own traffic asks a prompt again and again, and its copies' outcomes move together: ten
copies of one question are not ten questions. So every figure here takes the rows'
prompt ``groups`` (`groups.group_codes`) and counts prompts as the unit: the betting
bound bets on prompts, each weighed by its copies, the exact bounds count the rows a
design effect makes them worth (Korn and Graubard's effective sample size), and the
saving's bootstrap resamples prompts with all their rows. When every prompt is distinct
each group is one row and every figure is the per-row one, bit for bit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from langchain_costrouter.calibration.betting import betting_lower_bound
from langchain_costrouter.calibration.features import FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]
_BISECTION_STEPS = 60
LOSS_SIDE = 0.8
"""Share of ``1 - confidence`` spent on the losses' bound, the rest on the wins'.

Every sample's bound pays for the losses' side, and the wins' lower bound is near 0
whatever its share when wins are few, as they are when a cascade can keep a loss within
half a point: over tests/unit_tests/calibration/test_binary_loss_coverage.py's
populations 0.8 gave the narrowest bounds of 0.5-0.9 and passed 0.005 most often.
"""


@dataclass(frozen=True)
class LossBound:
    """The paired loss of a cascade on held-back questions and its upper bound."""

    loss: float
    upper: float
    size: int
    disagreements: int


def loss_upper_bound(
    baseline: FloatArray, cascade: FloatArray, confidence: float, groups: IntArray | None = None
) -> LossBound:
    """Mean of ``baseline - cascade`` and its one-sided upper bound at ``confidence``.

    ``groups`` numbers each row's prompt (None: every row its own prompt).
    """
    diff = np.asarray(baseline, dtype=np.float64) - np.asarray(cascade, dtype=np.float64)
    size = len(diff)
    disagreements = int(np.count_nonzero(diff))
    loss = float(diff.mean()) if size else 0.0
    if size == 0:
        return LossBound(loss=0.0, upper=math.inf, size=0, disagreements=0)
    if _is_binary(baseline) and _is_binary(cascade):
        upper = _binary_upper(diff, confidence, groups)
    else:
        upper = -betting_lower_bound(-diff, confidence, groups, span=(-1.0, 1.0))
    return LossBound(loss=loss, upper=upper, size=size, disagreements=disagreements)


def _is_binary(scores: FloatArray) -> bool:
    return bool(np.all((scores == 0.0) | (scores == 1.0)))


def _binary_upper(diff: FloatArray, confidence: float, groups: IntArray | None) -> float:
    """The losses' share's upper bound less the wins' share's lower bound (a union bound).

    Each fails with probability at most ``alpha`` times its side of `LOSS_SIDE`, so both
    hold with probability ``confidence`` or more, over the samples, not given their
    number of disagreements.
    """
    alpha = 1.0 - confidence
    losses = share_upper(diff > 0.0, 1.0 - alpha * LOSS_SIDE, groups)
    wins = 1.0 - share_upper(diff >= 0.0, 1.0 - alpha * (1.0 - LOSS_SIDE), groups)
    return losses - wins


def share_upper(hits: BoolArray, confidence: float, groups: IntArray | None) -> float:
    """Clopper-Pearson's upper bound of the share of ``hits``, prompts as the unit.

    The rows count as the independent ones they are worth (`design_effect`): trials
    rounded down and hits up, so the bound never gains from the rounding. The counts are
    first rounded to 9 decimals: five copies of every prompt have an effect of
    5.000000000000002, and 200 rows were worth 39 prompts, not 40.
    """
    # design_effect reads its first argument as paired differences: every row is a
    # trial (non-zero), a hit a "loss" (positive).
    effect = design_effect(np.where(hits, 1.0, -1.0), float(hits.mean()), groups)
    trials = max(math.floor(round(len(hits) / effect, 9)), 1)
    successes = min(math.ceil(round(int(np.count_nonzero(hits)) / effect, 9)), trials)
    return clopper_pearson_upper(successes, trials, confidence)


def design_effect(diff: FloatArray, share: float, groups: IntArray | None) -> float:
    """How many disagreeing rows weigh as one independent disagreement (at least 1).

    The ratio of the loss share's variance with prompts as the unit to its variance with
    rows as the unit (per-prompt sums of the residuals ``loss - share``). When every
    disagreement goes one way there are no residuals, and copies are assumed to agree
    (the worst case): the rows' mean number of disagreeing copies of their prompt.
    """
    if groups is None:
        return 1.0
    discordant = diff != 0.0
    residuals = np.where(discordant, (diff > 0.0) - share, 0.0)
    within = float(np.sum(residuals * residuals))
    if within > 0.0:
        totals = _totals(residuals, groups)
        return max(float(np.sum(totals * totals)) / within, 1.0)
    counts = _totals(discordant.astype(np.float64), groups)
    return max(float(np.sum(counts * counts)) / float(np.sum(counts)), 1.0)


def clopper_pearson_upper(successes: int, trials: int, confidence: float) -> float:
    """The exact one-sided upper bound of a binomial share, by bisection on its CDF.

    The log binomial coefficients are the same at every step, so they are computed once:
    recomputing them per step made a bound on a million rows take seconds. A bound is a
    function of its three numbers alone, and searches and coverage grids ask the same
    few again and again (tests/unit_tests/calibration/test_binary_loss_coverage.py: 9,834
    bounds of 524 distinct counts at 3,000 questions), so each is computed once.
    """
    return _upper(int(successes), int(trials), float(confidence))


@functools.lru_cache(maxsize=4096)
def _upper(successes: int, trials: int, confidence: float) -> float:
    """`clopper_pearson_upper`, remembered (a few thousand floats at most)."""
    if successes >= trials:
        return 1.0
    alpha, terms = 1.0 - confidence, _Terms.of(successes, trials)
    low, high = successes / trials, 1.0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2.0
        if terms.cdf(middle) > alpha:
            low = middle
        else:
            high = middle
    return high


def binomial_cdf(successes: int, trials: int, share: float) -> float:
    """P(X <= successes) for X ~ Binomial(trials, share), summed in log space."""
    if share <= 0.0 or share >= 1.0:  # at the edges the answer needs no coefficients
        return _edge_cdf(successes, trials, share)
    return _Terms.of(successes, trials).cdf(share)


@dataclass(frozen=True)
class _Terms:
    """What every CDF evaluation at one ``(successes, trials)`` shares: the success counts
    ``k = 0 .. successes``, ``trials - k`` and ``log C(trials, k)``."""

    successes: int
    trials: int
    k: FloatArray
    rest: FloatArray
    log_choose: FloatArray

    @classmethod
    def of(cls, successes: int, trials: int) -> _Terms:
        k = np.arange(successes + 1, dtype=np.float64)
        rest = trials - k
        head = np.array([math.lgamma(value) for value in (k + 1).tolist()])
        tail = np.array([math.lgamma(value) for value in (rest + 1).tolist()])
        return cls(successes, trials, k, rest, math.lgamma(trials + 1) - head - tail)

    def cdf(self, share: float) -> float:
        """`binomial_cdf` at ``share``."""
        if share <= 0.0 or share >= 1.0:
            return _edge_cdf(self.successes, self.trials, share)
        terms = self.log_choose + self.k * math.log(share) + self.rest * math.log1p(-share)
        peak = float(terms.max())
        return float(min(1.0, math.exp(peak) * np.exp(terms - peak).sum()))


def _edge_cdf(successes: int, trials: int, share: float) -> float:
    """The binomial CDF at a share of 0 or less (every trial fails) or 1 or more."""
    return 1.0 if share <= 0.0 or successes >= trials else 0.0


def prompt_deviation(values: FloatArray, mean: float, groups: IntArray | None) -> tuple[float, int]:
    """(the rows' standard deviation as prompts weigh it, the number of prompts).

    Over the square root of the rows it is the cluster-robust standard error of the
    mean; with one row per prompt it is the sample standard deviation (the scale
    factor is exactly 1). NaN with fewer than two prompts.
    """
    totals, sizes = _totals(values, groups), _totals(np.ones(len(values)), groups)
    prompts = len(totals)
    if prompts < 2:
        return math.nan, prompts
    residuals = totals - mean * sizes
    deviation = math.sqrt(float(np.sum(residuals * residuals)) / (prompts - 1))
    return deviation * (math.sqrt(prompts) / math.sqrt(len(values))), prompts


def _totals(values: FloatArray, groups: IntArray | None) -> FloatArray:
    """Per prompt, the sum of its rows' ``values`` (None: each row is its own prompt).

    ``groups`` number the prompts from 0 with no gaps (`groups.group_codes`,
    `groups.renumbered`): a number without rows would count as a prompt.
    """
    if groups is None:
        return values
    return np.asarray(np.bincount(groups, weights=values), dtype=np.float64)


def saving_interval(
    cascade_cost: FloatArray,
    baseline_cost: FloatArray,
    confidence: float,
    seed: int,
    groups: IntArray | None = None,
) -> tuple[float, float]:
    """A two-sided paired-bootstrap interval of the saving share ``1 - cost/baseline``.

    Prompts are resampled, each with all its rows (a cluster bootstrap).
    """
    size = len(cascade_cost)
    if size == 0 or float(baseline_cost.sum()) <= 0.0:
        return (0.0, 0.0)
    spent, reference = _totals(cascade_cost, groups), _totals(baseline_cost, groups)
    rng = np.random.default_rng(seed)
    ratios = np.concatenate([_resampled_savings(spent, reference, rng) for _ in range(8)])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return (float(low), float(high))


def _resampled_savings(
    spent: FloatArray, reference: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """50 bootstrap resamples of the prompts' costs at a time: memory is 50 x prompts."""
    picks = rng.integers(0, len(spent), size=(50, len(spent)))
    resampled, base = spent[picks].sum(axis=1), reference[picks].sum(axis=1)
    return np.asarray(1.0 - resampled / np.maximum(base, 1e-300), dtype=np.float64)
