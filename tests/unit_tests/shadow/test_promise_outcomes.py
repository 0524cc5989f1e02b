"""A policy's promise, read the way each search writes it, and shadow samples as outcomes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.calibration import (
    Policy,
    SearchOptions,
    StageRule,
    TaskPolicy,
    calibrate,
    load_policy,
    save_policy,
)
from langchain_costrouter.calibration.policy_routes import policy_digest
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.outcomes import read_outcomes, write_outcomes
from langchain_costrouter.shadow.outcomes import shadow_outcomes
from langchain_costrouter.shadow.promise import policy_promises
from tests.unit_tests.cli.outcome_files import synthetic_records
from tests.unit_tests.shadow.test_store import sample

GUARDED_TRAIN: dict[str, Any] = {
    "method": "guarded",
    "decision": "caution 2.5 standard errors proven on nested folds",
    "baseline_model": "large",
    "allowed_loss": 0.005,
    "confidence": 0.95,
    "size": 1080,
    "baseline_quality": 0.94537,
    "expected_quality": 0.950926,
    "quality_interval": [0.938022, 0.96383],
    "quality_lower_bound": 0.940909,
    "loss_upper_bound": 0.004461,
    "expected_saving": 0.861129,
    "saving_interval": [0.845895, 0.876349],
    "quality": 0.961111,
}
"""The guarded writer's ``train`` entry, every field, from a real OVERRULING calibration
(seed 3): its ``quality`` (the final cascade's in-sample figure) is above the interval."""

LEGACY_TRAIN: dict[str, Any] = {
    "quality": 0.97,
    "cost_usd": 1.9,
    "target_quality": 0.95,
    "quality_margin": 0.005,
    "target_met": True,
    "size": 400,
}
"""The legacy writer's ``train`` entry, every field."""


def one_task_policy(tmp_path: Path, train: dict[str, Any]) -> Path:
    """A policy file whose one task, ``math``, carries ``train`` as its search wrote it."""
    rule = StageRule(kind="agreement", threshold=0.5)
    policy = Policy(tasks={"math": TaskPolicy(("small", "large"), (rule,), train)})
    return save_policy(policy, tmp_path / "policy.json")


def policy_file(tmp_path: Path) -> Path:
    rule = StageRule(kind="agreement", threshold=0.5)
    policy = Policy(
        tasks={
            "math": TaskPolicy(("small", "large"), (rule,), {"quality": 0.97}),
            "chat": TaskPolicy(("large",), (), {"quality": 0.9}),
        }
    )
    path = save_policy(policy, tmp_path / "policy.json")
    data = json.loads(path.read_text())
    data["tasks"]["math"]["guarantee"] = {"quality": 0.95, "quality_interval": [0.92, 0.97]}
    path.write_text(json.dumps(data))
    return path


def test_promises_read_the_guarantee_else_the_train_quality(tmp_path: Path) -> None:
    path = policy_file(tmp_path)
    chat, math = policy_promises(path)
    digest = policy_digest(load_policy(path))
    assert (math.policy, math.task, math.quality, math.low, math.high, math.source) == (
        digest, "math", 0.95, 0.92, 0.97, "guarantee",
    )  # fmt: skip
    assert (chat.quality, chat.low, chat.high, chat.source) == (0.9, 0.9, None, "train")


def test_a_guarded_policy_is_held_to_its_lower_bound_not_its_train_quality(
    tmp_path: Path,
) -> None:
    (math,) = policy_promises(one_task_policy(tmp_path, GUARDED_TRAIN))
    assert (math.quality, math.low, math.high, math.source) == (
        0.950926, 0.940909, 0.96383, "guarded",
    )  # fmt: skip


def test_a_guarded_policy_without_its_bound_is_refused(tmp_path: Path) -> None:
    train = {k: v for k, v in GUARDED_TRAIN.items() if k != "quality_lower_bound"}
    with pytest.raises(ConfigError, match="quality_lower_bound"):
        policy_promises(one_task_policy(tmp_path, train))  # not held to train.quality


def test_a_legacy_policy_is_held_to_its_target_unless_it_fell_short(tmp_path: Path) -> None:
    (met,) = policy_promises(one_task_policy(tmp_path, LEGACY_TRAIN))
    assert (met.quality, met.low, met.high, met.source) == (0.97, 0.95, None, "target")
    short = {**LEGACY_TRAIN, "quality": 0.93, "target_met": False}
    (fell,) = policy_promises(one_task_policy(tmp_path, short))  # promised what it reached
    assert (fell.quality, fell.low, fell.high, fell.source) == (0.93, 0.93, None, "train")


def test_the_guarded_search_is_read_as_it_writes(tmp_path: Path) -> None:
    options = SearchOptions(max_quality_loss=0.02, seed=3)
    path = save_policy(calibrate(synthetic_records(300), options), tmp_path / "policy.json")
    written = {task: spec.train for task, spec in load_policy(path).tasks.items()}
    for promise in policy_promises(path):
        train = written[promise.task]
        assert train["method"] == "guarded"
        assert (promise.quality, promise.low, promise.high, promise.source) == (
            train["expected_quality"],
            train["quality_lower_bound"],
            train["quality_interval"][1],
            "guarded",
        )


def test_usable_samples_become_two_model_records(tmp_path: Path) -> None:
    served_by_reference = replace(sample("r3"), served_by="large")
    no_prompt = replace(sample("r4"), messages=None)
    rows = [sample("r1"), sample("r2", score=0.5), served_by_reference, no_prompt]
    found = shadow_outcomes(rows, "math")
    assert [r.id for r in found.records] == ["r1", "r2"]
    assert found.left_out == {
        "served by the reference model itself": 1,
        "prompt not kept (ShadowTask(store_prompts=True) keeps it)": 1,
    }
    first = found.records[1]
    assert {m: o.score for m, o in first.outcomes.items()} == {"small": 0.5, "large": 1.0}
    write_outcomes(tmp_path / "o.jsonl", found.records)  # a valid outcomes file
    assert len(read_outcomes(tmp_path / "o.jsonl")) == 2
