"""Drift: below the promise only when the whole interval is, too few samples say nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from langchain_costrouter.shadow.drift import (
    BELOW,
    NO_PROMISE,
    OK,
    TOO_FEW,
    drift_table,
    wilson_interval,
)
from langchain_costrouter.shadow.promise import policy_promises
from langchain_costrouter.shadow.rows import Promise, SampleRow
from tests.unit_tests.shadow.test_promise_outcomes import GUARDED_TRAIN, one_task_policy
from tests.unit_tests.shadow.test_store import sample

PROMISE = Promise("policy-abc", "policy", "math", 0.95, 0.9, 0.98, "guarantee")


def samples(scores: Sequence[float | None]) -> list[SampleRow]:
    """One sample per score, each asking a prompt of its own (drift counts prompts)."""
    return [distinct(sample(f"r{i}", score=score), i) for i, score in enumerate(scores)]


def distinct(row: SampleRow, index: int) -> SampleRow:
    """``row`` asking prompt number ``index``."""
    return replace(row, messages=({"role": "user", "content": f"What is {index} + 1?"},))


def test_wilson_interval_holds_the_mean() -> None:
    low, high = wilson_interval(0.8, 100, 0.95)
    assert low < 0.8 < high
    assert wilson_interval(1.0, 60, 0.95)[1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("scores", "status"),
    [
        ([1.0] * 50, OK),
        ([1.0] * 45 + [0.0] * 5, OK),  # 0.9: within the promise's noise
        ([1.0] * 30 + [0.0] * 20, BELOW),  # 0.6: the whole interval is below 0.9
        ([0.0] * 5, TOO_FEW),
    ],
)
def test_status_against_the_promise(scores: list[float], status: str) -> None:
    (row,) = drift_table(samples(scores), {("policy-abc", "math"): PROMISE}, min_samples=20)
    assert row.status == status
    assert row.samples == len(scores)


def test_failed_evaluations_are_counted_not_scored() -> None:
    (row,) = drift_table(samples([1.0] * 30 + [None] * 3), {("policy-abc", "math"): PROMISE})
    assert (row.samples, row.failed, row.quality) == (30, 3, 1.0)


def test_no_promise_unless_the_policy_recorded_one_or_one_is_given() -> None:
    (row,) = drift_table(samples([0.0] * 30), {})
    assert row.status == NO_PROMISE
    (held,) = drift_table(samples([0.0] * 30), {}, override={"math": PROMISE})
    assert held.status == BELOW


@pytest.mark.parametrize(
    ("wrong", "status"),
    [
        (100, OK),  # 0.950 [0.940, 0.959]: inside the promised [0.938, 0.964]
        (130, OK),  # 0.935 [0.924, 0.945]: under the bound, but not surely
        (160, BELOW),  # 0.920 [0.908, 0.931]: the whole interval under 0.941
    ],
)
def test_a_guarded_policy_is_held_to_its_lower_bound(
    tmp_path: Path, wrong: int, status: str
) -> None:
    (promise,) = policy_promises(one_task_policy(tmp_path, GUARDED_TRAIN))
    scores = [0.0] * wrong + [1.0] * (2000 - wrong)
    rows = [replace(row, policy=promise.policy) for row in samples(scores)]
    (row,) = drift_table(rows, {(promise.policy, "math"): promise})
    assert (row.status, promise.low) == (status, 0.940909)
