"""Drift counts prompts, not samples: copies of a prompt are one piece of evidence.

Own traffic asks a prompt again and again, and a question the cheap model gets wrong
it tends to get wrong every time. Counted as independent samples, the copies narrow
the interval until noise reads as drift (``costrouter drift`` exits 1). Where the
prompts are kept, samples with the same message contents are one prompt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pytest

from langchain_costrouter.shadow.drift import BELOW, OK, TOO_FEW, drift_table
from langchain_costrouter.shadow.rows import Promise, SampleRow
from tests.unit_tests.shadow.test_store import sample

PROMPTS, COPIES, RUNS = 300, 5, 300
CONFIDENCE = 0.95
PROMISE = Promise("policy-abc", "policy", "math", 0.95, 0.9, 0.98, "guarantee")


def asked(scores: Sequence[float], prompts: Sequence[int | None]) -> list[SampleRow]:
    """One sample per score, asking prompt number ``prompts[i]`` (None: prompt not kept)."""
    return [
        replace(
            sample(f"r{index}", score=score),
            messages=None
            if prompt is None
            else ({"role": "system", "content": "Add."}, {"role": "user", "content": f"q{prompt}"}),
        )
        for index, (score, prompt) in enumerate(zip(scores, prompts, strict=True))
    ]


def old_wilson(mean: float, size: int, confidence: float) -> tuple[float, float]:
    """The per-sample interval drift computed before it counted prompts."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    denominator = 1 + z * z / size
    centre = (mean + z * z / (2 * size)) / denominator
    spread = z * math.sqrt(mean * (1 - mean) / size + z * z / (4 * size * size)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def interval_of(samples: list[SampleRow]) -> tuple[float, float]:
    (row,) = drift_table(samples, {}, confidence=CONFIDENCE, min_samples=0)
    assert row.interval is not None
    return row.interval


def test_copies_of_a_prompt_do_not_narrow_the_interval() -> None:
    """300 prompts asked 5 times each: how often does the interval hold the population's
    quality (0.85)? Each prompt's chance of a good answer is Beta(0.425, 0.075): most
    prompts are answered well or badly every time, some vary from copy to copy. Before,
    the interval held it in 72% of runs (as it does for the copies taken as samples)."""
    rng = np.random.default_rng(11)
    # Samples are built once per (prompt or position, score) and picked per run.
    kept = [asked([0.0, 1.0], [prompt, prompt]) for prompt in range(PROMPTS)]
    unkept = [asked([0.0, 1.0], [None, None]) for _ in range(PROMPTS * COPIES)]
    unkept = [[replace(s, run_id=f"r{i}-{s.score}") for s in pair] for i, pair in enumerate(unkept)]
    held = {"samples": 0, "prompts": 0}
    for _ in range(RUNS):
        chance = rng.beta(0.425, 0.075, PROMPTS)
        order = np.repeat(np.arange(PROMPTS), COPIES)[rng.permutation(PROMPTS * COPIES)]
        scores = (rng.random(PROMPTS * COPIES) < chance[order]).astype(int).tolist()
        picked = zip(order.tolist(), scores, strict=True)
        by_prompt = [kept[prompt][score] for prompt, score in picked]
        by_sample = [unkept[i][score] for i, score in enumerate(scores)]
        for name, samples in (("prompts", by_prompt), ("samples", by_sample)):
            low, high = interval_of(samples)
            held[name] += low <= 0.85 <= high
    coverage = {name: count / RUNS for name, count in held.items()}
    assert coverage["samples"] < 0.80, coverage  # the copies as independent samples: 0.72
    assert 0.93 <= coverage["prompts"] <= 0.99, coverage  # 0.97


def test_noise_on_repeated_prompts_is_not_drift() -> None:
    """50 of 60 prompts answered well (0.833), each asked 5 times with the same score:
    as 300 samples the interval [0.787, 0.871] is under the promise's 0.9 (drift); as 60
    prompts it reaches above it."""
    scores = [1.0 if prompt < 50 else 0.0 for prompt in range(60) for _ in range(5)]
    prompts = [prompt for prompt in range(60) for _ in range(5)]
    rows = {("policy-abc", "math"): PROMISE}
    (row,) = drift_table(asked(scores, prompts), rows)
    assert (row.status, row.interval) == (OK, old_wilson(50 / 60, 60, CONFIDENCE))  # copies agree
    assert (row.samples, row.prompts) == (300, 60)
    (alone,) = drift_table(asked(scores, [None] * 300), rows)
    assert (alone.prompts, alone.status) == (300, BELOW)


def test_too_few_prompts_say_nothing_however_often_they_are_asked() -> None:
    scores = [0.0] * 100
    (row,) = drift_table(
        asked(scores, [i % 5 for i in range(100)]), {("policy-abc", "math"): PROMISE}
    )
    assert row.status == TOO_FEW
    assert (row.samples, row.prompts) == (100, 5)


@pytest.mark.parametrize("kept", [True, False])
def test_distinct_prompts_give_the_per_sample_interval_bit_for_bit(kept: bool) -> None:
    rng = np.random.default_rng(5)
    for trial in range(20):
        size = int(rng.integers(1, 400))
        graded = rng.choice([0.0, 0.5, 1.0], size, p=[0.1, 0.2, 0.7])
        scores = graded if trial % 2 else np.round(graded)
        prompts = list(range(size)) if kept else [None] * size
        confidence = float(rng.choice([0.8, 0.9, 0.95, 0.99]))
        (row,) = drift_table(asked(scores.tolist(), prompts), {}, confidence=confidence)
        quality = sum(scores.tolist()) / size
        assert (row.quality, row.interval) == (quality, old_wilson(quality, size, confidence))
        assert row.prompts == size


def test_the_same_messages_are_one_prompt_whoever_sent_them() -> None:
    """Contents in order make the prompt: another role or run id does not make another."""
    first = asked([1.0, 0.0], [7, 7])
    second = replace(
        first[1],
        messages=({"role": "developer", "content": "Add."}, {"role": "human", "content": "q7"}),
    )
    other = replace(first[1], run_id="r9", messages=({"role": "user", "content": "q7"},))
    (same,) = drift_table([first[0], second], {}, min_samples=0)
    (different,) = drift_table([first[0], other], {}, min_samples=0)
    assert (same.prompts, different.prompts) == (1, 2)


def digested(rows: list[SampleRow], prompts: Sequence[int | None]) -> list[SampleRow]:
    """``rows`` as stored without their prompts, each with its prompt's digest (None: none)."""
    return [
        replace(row, messages=None, prompt_digest=None if prompt is None else f"v2:{prompt:064x}")
        for row, prompt in zip(rows, prompts, strict=True)
    ]


def test_the_prompt_s_digest_counts_copies_once_without_the_prompt_kept() -> None:
    """60 prompts asked 5 times, store_prompts off: the interval with the prompts kept.
    Before, every sample counted as a prompt of its own (300, below the promise)."""
    scores = [1.0 if prompt < 50 else 0.0 for prompt in range(60) for _ in range(5)]
    prompts = [prompt for prompt in range(60) for _ in range(5)]
    rows = {("policy-abc", "math"): PROMISE}
    (kept,) = drift_table(asked(scores, prompts), rows)
    (unkept,) = drift_table(digested(asked(scores, prompts), prompts), rows)
    assert (unkept.samples, unkept.prompts, unkept.status) == (300, 60, OK)
    assert (unkept.quality, unkept.interval) == (kept.quality, kept.interval)


def test_the_digest_comes_first_then_the_messages_then_the_sample() -> None:
    """Same redacted messages but different digests (two images, one caption) are two
    prompts; a row without a digest falls back to its messages, then to itself."""
    both = asked([1.0, 0.0, 1.0, 0.0, 1.0], [7, 7, 7, None, None])
    both[0] = replace(both[0], prompt_digest="v2:" + "a" * 64)
    both[1] = replace(both[1], prompt_digest="v2:" + "b" * 64)
    (row,) = drift_table(both, {}, min_samples=0)
    # digest a, digest b, the messages of q7 (no digest), and two samples of their own
    assert (row.samples, row.prompts) == (5, 5)
    same = [replace(r, prompt_digest="v2:" + "a" * 64) for r in both]
    (row,) = drift_table(same, {}, min_samples=0)
    assert row.prompts == 1
