"""The policy file: per task label, the cascade tiers and each stage's acceptance rule.

A policy is what `calibrate` learns and what `RoutedChatModel` loads. It is plain JSON
so it can be reviewed, diffed and shared safely (never pickle)::

    {"version": 1, "kind": "costrouter-policy",
     "tasks": {"classification": {
         "tiers": ["gpt-3.5-turbo", "gpt-4"],
         "rules": [{"kind": "scorer", "threshold": 0.83, "scorer": {...}}],
         "train": {"quality": 0.95, "cost_usd": 1.9, "target_quality": 0.95}}}}

``rules[k]`` decides whether tier ``k``'s answer is accepted; the last tier has no
rule and is always accepted. A scorer is inline, or in a sibling file named by
``scorer_file`` (relative to the policy file) when inline weights make the file too
large to read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_costrouter._private_files import make_private_dir, write_private_file
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.errors import ConfigError

POLICY_VERSION = 1
RULE_KINDS = ("scorer", "agreement")


@dataclass(frozen=True)
class StageRule:
    """Accept a tier's answer when the rule's score is at least ``threshold``."""

    kind: str
    threshold: float
    scorer: LinearScorer | None = None

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ConfigError(f"rule kind must be one of {RULE_KINDS}, got {self.kind!r}")
        if self.kind == "scorer" and self.scorer is None:
            raise ConfigError("a 'scorer' rule needs scorer weights", key="scorer")


@dataclass(frozen=True)
class TaskPolicy:
    """The cascade of one task label: tiers cheapest first, one rule per non-last tier."""

    tiers: tuple[str, ...]
    rules: tuple[StageRule, ...]
    train: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tiers or len(self.rules) != len(self.tiers) - 1:
            raise ConfigError(
                f"a cascade of {len(self.tiers)} tiers needs {max(len(self.tiers) - 1, 0)} "
                f"rules, got {len(self.rules)}",
                key="rules",
            )


@dataclass(frozen=True)
class Policy:
    """Task label -> cascade, plus free-form metadata (seed, split sizes, models)."""

    tasks: Mapping[str, TaskPolicy]
    meta: Mapping[str, Any] = field(default_factory=dict)


def save_policy(policy: Policy, path: str | Path, *, inline_scorers: bool = True) -> Path:
    """Write the policy as JSON; with ``inline_scorers=False`` scorers go to sibling files.

    Each file is private to the user (0600, new directories 0700), as the ledger is: a
    policy names a team's tasks and models and what they cost.
    """
    target = Path(path)
    make_private_dir(target.parent)
    tasks = {
        task: _task_json(task, spec, target, inline_scorers)
        for task, spec in sorted(policy.tasks.items())
    }
    data = {"version": POLICY_VERSION, "kind": "costrouter-policy", "tasks": tasks}
    data["meta"] = dict(policy.meta)
    write_private_file(target, json.dumps(data, indent=1) + "\n")
    return target


def load_policy(path: str | Path) -> Policy:
    """Read a policy file; errors name the file and the key that is wrong."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read policy: {exc}", path=str(source)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError.not_utf8(exc, path=str(source)) from None
    try:
        return policy_from_json(data, base=source.parent)
    except ConfigError as exc:
        raise ConfigError(str(exc), path=str(source)) from None


def policy_from_json(data: Any, *, base: Path | None = None) -> Policy:
    """Build a policy from parsed JSON (``base`` resolves ``scorer_file`` paths)."""
    if not isinstance(data, dict) or data.get("kind") != "costrouter-policy":
        raise ConfigError("not a costrouter policy (kind != 'costrouter-policy')", key="kind")
    if data.get("version") != POLICY_VERSION:
        raise ConfigError(f"unsupported policy version {data.get('version')!r}", key="version")
    tasks = data.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        raise ConfigError("'tasks' must map task labels to cascades", key="tasks")
    return Policy(
        tasks={task: _task_from_json(task, spec, base) for task, spec in tasks.items()},
        meta=dict(data.get("meta") or {}),
    )


def _task_json(task: str, spec: TaskPolicy, target: Path, inline: bool) -> dict[str, Any]:
    rules = []
    for stage, rule in enumerate(spec.rules):
        entry: dict[str, Any] = {"kind": rule.kind, "threshold": rule.threshold}
        if rule.scorer is not None and inline:
            entry["scorer"] = rule.scorer.to_json()
        elif rule.scorer is not None:
            sibling = target.with_name(f"{target.stem}.{task}.{stage}.scorer.json")
            write_private_file(sibling, json.dumps(rule.scorer.to_json()) + "\n")
            entry["scorer_file"] = sibling.name
        rules.append(entry)
    return {"tiers": list(spec.tiers), "rules": rules, "train": dict(spec.train)}


def _task_from_json(task: str, spec: Any, base: Path | None) -> TaskPolicy:
    where = f"tasks.{task}"
    if not isinstance(spec, dict) or not isinstance(spec.get("tiers"), list):
        raise ConfigError("needs 'tiers' (a list of model ids)", key=where)
    rules = spec.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError("'rules' must be a list", key=f"{where}.rules")
    return TaskPolicy(
        tiers=tuple(str(model) for model in spec["tiers"]),
        rules=tuple(_rule_from_json(rule, base, f"{where}.rules") for rule in rules),
        train=dict(spec.get("train") or {}),
    )


def _rule_from_json(rule: Any, base: Path | None, where: str) -> StageRule:
    if not isinstance(rule, dict) or not isinstance(rule.get("threshold"), int | float):
        raise ConfigError("each rule needs 'kind' and a numeric 'threshold'", key=where)
    scorer = None
    if "scorer" in rule:
        scorer = LinearScorer.from_json(rule["scorer"])
    elif "scorer_file" in rule:
        scorer_path = (base or Path.cwd()) / str(rule["scorer_file"])
        try:
            scorer = LinearScorer.from_json(json.loads(scorer_path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read scorer file: {exc}", key=where) from None
    return StageRule(kind=str(rule.get("kind")), threshold=float(rule["threshold"]), scorer=scorer)
