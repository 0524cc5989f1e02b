"""A policy's promise (with or without an interval) and shadow samples as outcomes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy, load_policy, save_policy
from langchain_costrouter.calibration.policy_routes import policy_digest
from langchain_costrouter.outcomes import read_outcomes, write_outcomes
from langchain_costrouter.shadow.outcomes import shadow_outcomes
from langchain_costrouter.shadow.promise import policy_promises
from tests.unit_tests.shadow.test_store import sample


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
