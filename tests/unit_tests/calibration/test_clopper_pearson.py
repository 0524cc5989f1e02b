"""The Clopper-Pearson bound evaluates its log-factorials once, and answers as it always did.

The bisection asks the binomial CDF about 60 times at the same ``(successes, trials)``;
each ask used to recompute ``lgamma`` of every success count, so one bound on a
million disagreements spent seconds in Python calls. The answers must not move: every
bound here is compared with ``==`` against the per-step formula it replaced.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from langchain_costrouter.calibration import bounds
from langchain_costrouter.calibration.bounds import binomial_cdf, clopper_pearson_upper


def _reference_cdf(successes: int, trials: int, share: float) -> float:
    """The CDF as `bounds.binomial_cdf` computed it before (log-factorials per call)."""
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


def _reference_upper(successes: int, trials: int, confidence: float) -> float:
    """`bounds.clopper_pearson_upper` as it was: 60 bisection steps on `_reference_cdf`."""
    if successes >= trials:
        return 1.0
    alpha = 1.0 - confidence
    low, high = successes / trials, 1.0
    for _ in range(60):
        middle = (low + high) / 2.0
        if _reference_cdf(successes, trials, middle) > alpha:
            low = middle
        else:
            high = middle
    return high


def _grid() -> list[tuple[int, int]]:
    """(successes, trials): both edges (0 and all), their neighbours and the middle."""
    pairs = set()
    for trials in (1, 2, 3, 5, 10, 37, 100, 1000, 20_000):
        for successes in (0, 1, 2, trials // 3, trials // 2, trials - 1, trials, trials + 1):
            if successes >= 0:
                pairs.add((successes, trials))
    return sorted(pairs)


CONFIDENCES = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)


@pytest.mark.parametrize(("successes", "trials"), _grid())
def test_the_bound_is_the_one_it_always_was(successes: int, trials: int) -> None:
    for confidence in CONFIDENCES:
        expected = _reference_upper(successes, trials, confidence)
        assert clopper_pearson_upper(successes, trials, confidence) == expected


@pytest.mark.parametrize(("successes", "trials"), [(0, 1), (0, 10), (3, 10), (10, 10), (7, 1000)])
def test_the_cdf_is_the_one_it_always_was(successes: int, trials: int) -> None:
    shares = (0.0, 1e-300, 1e-9, 0.003, 0.25, 0.5, 0.7, 1 - 1e-12, 1.0, -0.1, 1.5)
    for share in shares:
        assert binomial_cdf(successes, trials, share) == _reference_cdf(successes, trials, share)


class _CountingMath(SimpleNamespace):
    """``math`` as `bounds` sees it, counting the calls of ``lgamma``."""

    def __init__(self) -> None:
        super().__init__(lgamma_calls=0)

    def lgamma(self, value: float) -> float:
        self.lgamma_calls += 1
        return math.lgamma(value)

    def __getattr__(self, name: str) -> Any:
        return getattr(math, name)


def test_one_bound_evaluates_each_log_factorial_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: 60 bisection steps x 2 x 501 calls = 60,180 for 500 successes."""
    counting = _CountingMath()
    monkeypatch.setattr(bounds, "math", counting)
    clopper_pearson_upper(500, 2000, 0.95)
    # lgamma(trials + 1) once, then k + 1 and trials - k + 1 for k = 0..500
    # (np.vectorize calls its function once more to learn the output type).
    assert counting.lgamma_calls <= 1 + 2 * (501 + 1)


def test_a_bound_asked_again_is_not_recomputed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coverage grid of test_binary_loss_coverage.py asks 9,834 bounds of 524 distinct
    counts at 3,000 questions; each took a 60-step bisection over up to 3,000 terms."""
    counting = _CountingMath()
    monkeypatch.setattr(bounds, "math", counting)
    first = clopper_pearson_upper(123, 4567, 0.9123)
    computed = counting.lgamma_calls
    again = clopper_pearson_upper(123, 4567, 0.9123)
    assert again == first == _reference_upper(123, 4567, 0.9123)
    assert computed > 0
    assert counting.lgamma_calls == computed
    assert clopper_pearson_upper(123, 4567, 0.95) != first  # another confidence, another bound
    assert counting.lgamma_calls > computed
