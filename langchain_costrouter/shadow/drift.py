"""Has a task's live quality fallen below what its policy promised? The weekly check.

Per task and serving policy, the recent shadow samples' mean score is the observed
quality relative to the reference model (its own answers score 1), with a Wilson
interval at ``confidence`` (conservative for scores between 0 and 1). A task is
``below`` its promise when the whole interval lies under the promise's threshold, the
lowest quality its policy promised (`Promise.low`: the guarded search's proven lower
bound, the legacy search's target; `shadow.promise` says which): drift, not noise. Too
few samples say nothing either way.

The comparison is like with like when the policy was calibrated on outcomes scored
relative to the reference model (``collect --score judge:MODEL`` without references,
or shadow outcomes), and the shadow scorer is the same.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from langchain_costrouter.shadow.rows import Promise, SampleRow

BELOW = "below"
OK = "ok"
TOO_FEW = "too few samples"
NO_PROMISE = "no promise"
_ROUNDING = 1e-9
"""A mean of 1.0 has an upper bound of 1.0 up to rounding: not below a promise of 1.0."""


@dataclass(frozen=True)
class TaskDrift:
    """One task under one policy: what the shadow saw against what was promised."""

    task: str
    policy: str
    samples: int
    failed: int
    quality: float | None
    interval: tuple[float, float] | None
    promise: Promise | None
    status: str


def drift_table(
    samples: Iterable[SampleRow],
    promises: Mapping[tuple[str, str], Promise],
    *,
    confidence: float = 0.95,
    min_samples: int = 20,
    override: Mapping[str, Promise] | None = None,
) -> list[TaskDrift]:
    """One row per (task, policy) of ``samples``; ``override`` is promises by task."""
    groups: dict[tuple[str, str], list[SampleRow]] = defaultdict(list)
    for sample in samples:
        groups[sample.task, sample.policy].append(sample)
    rows = []
    for (task, policy), group in sorted(groups.items()):
        promise = (override or {}).get(task) or promises.get((policy, task))
        rows.append(_row(task, policy, group, promise, confidence, min_samples))
    return rows


def _row(
    task: str,
    policy: str,
    group: Sequence[SampleRow],
    promise: Promise | None,
    confidence: float,
    min_samples: int,
) -> TaskDrift:
    scores = [s.score for s in group if s.score is not None]
    failed = len(group) - len(scores)
    if not scores:
        return TaskDrift(task, policy, 0, failed, None, None, promise, TOO_FEW)
    quality = sum(scores) / len(scores)
    interval = wilson_interval(quality, len(scores), confidence)
    if promise is None:
        status = NO_PROMISE
    elif len(scores) < min_samples:
        status = TOO_FEW
    else:
        status = BELOW if interval[1] < promise.low - _ROUNDING else OK
    return TaskDrift(task, policy, len(scores), failed, quality, interval, promise, status)


def wilson_interval(mean: float, size: int, confidence: float) -> tuple[float, float]:
    """Two-sided Wilson score interval of a mean of scores in [0, 1]."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    denominator = 1 + z * z / size
    centre = (mean + z * z / (2 * size)) / denominator
    spread = z * math.sqrt(mean * (1 - mean) / size + z * z / (4 * size * size)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)
