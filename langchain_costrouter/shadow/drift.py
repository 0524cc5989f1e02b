"""Has a task's live quality fallen below what its policy promised? The weekly check.

Per task and serving policy, the recent shadow samples' mean score is the observed
quality relative to the reference model (its own answers score 1), with a Wilson
interval at ``confidence`` (conservative for scores between 0 and 1). A task is
``below`` its promise when the whole interval lies under the promise's threshold, the
lowest quality its policy promised (`Promise.low`: the guarded search's proven lower
bound, the legacy search's target; `shadow.promise` says which): drift, not noise. Too
few prompts say nothing either way.

Own traffic asks a prompt again and again, and its copies' scores move together: ten
copies of one question are not ten questions, and counting them as such narrowed the
interval until noise read as drift. Samples with the same prompt digest
(`SampleRow.prompt_digest`, stored with every sample whether the task keeps its prompts
or not) are one prompt, and the interval counts prompts as the unit, as calibration
does (`calibration.bounds`): its size is the samples over their design effect, and
``min_samples`` counts prompts. A sample stored before digests is one prompt with the
samples of the same message contents where its prompt was kept (and not yet pruned),
else a prompt of its own. When every prompt is distinct the interval is the per-sample
one, bit for bit.

The comparison is like with like when the policy was calibrated on outcomes scored
relative to the reference model (``collect --score judge:MODEL`` without references,
or shadow outcomes), and the shadow scorer is the same.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
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
    prompts: int = 0
    """How many distinct prompts the scored samples asked (what ``min_samples`` counts)."""


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
    prompts = [_prompt(s) for s in group if s.score is not None]
    effect = design_effect(scores, prompts, quality)
    interval = wilson_interval(quality, len(scores) / effect, confidence)
    distinct = len(set(prompts))
    if promise is None:
        status = NO_PROMISE
    elif distinct < min_samples:
        status = TOO_FEW
    else:
        status = BELOW if interval[1] < promise.low - _ROUNDING else OK
    return TaskDrift(
        task, policy, len(scores), failed, quality, interval, promise, status, distinct
    )


def _prompt(sample: SampleRow) -> tuple[str, ...]:
    """The sample's prompt: its digest (`SampleRow.prompt_digest`), else, for a sample
    stored before digests, its messages' contents in order (as `replay.prompt_key` reads
    them), else its run id (a prompt of its own)."""
    if sample.prompt_digest:
        return ("digest", sample.prompt_digest)
    if not sample.messages:
        return ("run", sample.run_id)
    return ("prompt", *(message.get("content", "") for message in sample.messages))


def design_effect(scores: Sequence[float], prompts: Sequence[Hashable], mean: float) -> float:
    """How many samples weigh as one independent sample (at least 1).

    The ratio of the mean's variance with prompts as the unit (per-prompt sums of the
    residuals ``score - mean``) to its variance with samples as the unit, as
    `calibration.bounds` weighs disagreements. With one prompt, or no residuals (every
    score the same), the copies are assumed to agree (the worst case): the samples'
    mean number of copies of their prompt. Exactly 1 when every prompt is distinct.
    """
    totals: dict[Hashable, float] = defaultdict(float)
    residuals = [score - mean for score in scores]
    for residual, prompt in zip(residuals, prompts, strict=True):
        totals[prompt] += residual
    # Both sums alike (fsum): with one sample per prompt they are the same sum, ratio 1.
    within = math.fsum(residual * residual for residual in residuals)
    if within > 0.0 and len(totals) > 1:
        between = math.fsum(total * total for total in totals.values())
        return max(between / within, 1.0)
    copies = Counter(prompts).values()
    return max(sum(count * count for count in copies) / len(scores), 1.0)


def wilson_interval(mean: float, size: float, confidence: float) -> tuple[float, float]:
    """Two-sided Wilson score interval of a mean of scores in [0, 1].

    ``size`` is the number of independent samples, an effective size when copies of a
    prompt repeat (`design_effect`), so it need not be whole.
    """
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    denominator = 1 + z * z / size
    centre = (mean + z * z / (2 * size)) / denominator
    spread = z * math.sqrt(mean * (1 - mean) / size + z * z / (4 * size * size)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)
