"""The lowest quality a calibrated task promises: a lower confidence bound of its quality.

Drift holds live traffic to this figure (`shadow.promise`), so it must be under the
task's true quality at the promise's confidence. The baseline's train mean minus the
loss bound is not: the loss bound covers the cascade's loss against the baseline, not
the baseline's own sampling error, and a task that keeps the baseline (loss bound 0)
was held to its train mean, which its true quality is under about half the time.
The bound here is on the mean of the quality the search measured (the nested folds'
answers, or the baseline's own): exact on 0/1 scores (Clopper-Pearson on the right
answers), a betting bound on graded ones (`betting`: distribution-free, so it holds on
15 rows of skewed scores, where Student's t held in 117 of 200 draws); copies of a
prompt count as one question, as in `bounds`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from langchain_costrouter.calibration.betting import betting_lower_bound
from langchain_costrouter.calibration.bounds import share_upper
from langchain_costrouter.calibration.features import FloatArray, IntArray


def quality_lower_bound(
    quality: FloatArray, confidence: float, groups: IntArray | None = None
) -> float:
    """A one-sided lower bound at ``confidence`` of the mean of ``quality``, prompts as the unit.

    ``groups`` numbers each row's prompt (None: every row its own prompt).
    """
    values = np.asarray(quality, dtype=np.float64)
    if len(values) == 0:
        return 0.0
    if bool(np.all((values == 0.0) | (values == 1.0))):
        return _exact_binary_lower(values, confidence, groups)
    return betting_lower_bound(values, confidence, groups)


def quality_interval(
    quality: FloatArray, confidence: float, groups: IntArray | None = None
) -> tuple[float, float]:
    """A two-sided interval at ``confidence`` of the mean of ``quality``, prompts as the unit.

    Exact on 0/1 scores, as the lower bound is: a t interval of answers all right has no
    width, so a task of 15 train rows, all right, printed [1.0000, 1.0000], and one of
    20 rows right 95% of the time held its quality in 62% of draws. Graded scores get
    two betting bounds (`betting`), one from each side, inside [0, 1] as every mean of
    scores is (a t interval of 15 graded rows, 13 of them 1.0, ran to 1.0276).
    """
    values = np.asarray(quality, dtype=np.float64)
    if len(values) == 0:
        return (0.0, 0.0)
    tail = 0.5 + confidence / 2.0
    lower: Callable[[FloatArray, float, IntArray | None], float] = _exact_binary_lower
    if not bool(np.all((values == 0.0) | (values == 1.0))):
        lower = betting_lower_bound
    return (lower(values, tail, groups), 1.0 - lower(1.0 - values, tail, groups))


def _exact_binary_lower(values: FloatArray, confidence: float, groups: IntArray | None) -> float:
    """One minus the Clopper-Pearson upper bound of the wrong answers' share.

    The rows count as the independent answers they are worth (`bounds.share_upper`, as
    the loss bound counts them).
    """
    return 1.0 - share_upper(values == 0.0, confidence, groups)
